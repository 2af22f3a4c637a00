import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { commandLine } from './proc';

/**
 * Who listens on a TCP port, read from /proc. A part started on a port some other
 * process already holds would fail to bind, while its readiness probe reached the
 * other process and passed: the stack would then run against a server that is not
 * its own (another checkout's Postgres with the same default password, say).
 */

export interface PortHolder {
  port: number;
  /** Undefined when no visible process holds the socket: another user's, or one still exiting (see stack.ts). */
  pid?: number;
  command?: string;
}

const LISTEN = '0A';

/** The socket inodes listening on `port`, over IPv4 and IPv6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN) continue;
      if (parseInt(f[1].slice(f[1].lastIndexOf(':') + 1), 16) === port) inodes.add(f[9]);
    }
  }
  return inodes;
}

function ownerOf(inodes: Set<string>): { pid: number; command: string } | undefined {
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!wanted.has(target)) continue;
      // One line for a message, even when an argument holds newlines (a `python3 -c` script, say).
      return { pid, command: (commandLine(pid) ?? '').replace(/\s+/g, ' ') };
    }
  }
  return undefined;
}

/** The process listening on `port`, or undefined when nothing listens there. */
export function portHolder(port: number): PortHolder | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  return { port, ...ownerOf(inodes) };
}
