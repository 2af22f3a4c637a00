import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { logFile, runningPid, spawnDetached, stopProcess, waitFor } from './proc';
import type { StackSettings } from './settings';

/**
 * A libvirtd of the project's own with only libvirt's test driver: a mock hypervisor
 * whose domains every client of the socket shares, so what the worker defines `virsh`
 * sees. Its config, socket and (empty) driver folder live under the data folder.
 *
 * Two facts shape this part:
 * - libvirtd loads its drivers (QEMU, network, storage...) from a folder; pointed at an
 *   empty one it loads none, and the test driver, built into libvirt itself, remains.
 *   The QEMU driver would otherwise fail the start where no `libvirt-qemu` user exists.
 * - The test driver keeps `test:///default` only while a connection to it is open: when
 *   the last client leaves, every domain goes. A keeper holds one connection for the
 *   stack's lifetime (`virsh event --loop`, whose output is a useful log of every
 *   domain's lifecycle events). State still lives in memory only: a restart empties it.
 */

const run = promisify(execFile);

/** The keeper's name in the stack's pid and log files. */
export const libvirtdKeeper = 'libvirtd-keeper';

export interface LibvirtdPaths {
  dir: string;
  config: string;
  socket: string;
  adminSocket: string;
  driverDir: string;
  pidFile: string;
}

export function libvirtdPaths(s: StackSettings): LibvirtdPaths {
  const dir = join(s.dataDir, 'libvirt');
  return {
    dir,
    config: join(dir, 'libvirtd.conf'),
    socket: join(dir, 'libvirt-sock'),
    adminSocket: join(dir, 'libvirt-admin-sock'),
    driverDir: join(dir, 'drivers'),
    // libvirtd's own lock file; the stack's pid file for it is in the run folder like every part's.
    pidFile: join(dir, 'libvirtd.pid'),
  };
}

/** The URI the worker, the tests and `virsh -c` use to reach this libvirtd. */
export function libvirtUri(s: StackSettings): string {
  return `test+unix:///default?socket=${libvirtdPaths(s).socket}`;
}

// sun_path holds 108 bytes with its terminating NUL.
const maxSocketPath = 107;

export async function startLibvirtd(s: StackSettings): Promise<void> {
  const p = libvirtdPaths(s);
  if (Buffer.byteLength(p.adminSocket) > maxSocketPath) {
    throw new Error(
      `libvirtd's socket path ${p.adminSocket} is longer than ${maxSocketPath} bytes, the limit of a unix socket: use a shorter DATA_DIR`,
    );
  }
  if (runningPid(s, 'libvirtd') === undefined) {
    // A daemon that died leaves its sockets; the keeper without a daemon is of no use.
    await stopProcess(s, libvirtdKeeper);
    rmSync(p.dir, { recursive: true, force: true });
    mkdirSync(p.driverDir, { recursive: true });
    writeFileSync(p.config, config(p), { mode: 0o600 });
    spawnDetached(s, {
      name: 'libvirtd',
      command: 'libvirtd',
      args: ['--config', p.config, '--pid-file', p.pidFile],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', LIBVIRT_DRIVER_DIR: p.driverDir },
    });
  }
  await waitFor('libvirtd', () => answers(s), { pid: () => runningPid(s, 'libvirtd'), log: logFile(s, 'libvirtd') });
  if (runningPid(s, libvirtdKeeper) === undefined) {
    spawnDetached(s, {
      name: libvirtdKeeper,
      command: 'virsh',
      args: ['-c', libvirtUri(s), 'event', '--all', '--loop', '--timestamp'],
    });
  }
  // Until the keeper's connection is open, a client's domains would vanish when it disconnects.
  await waitFor(libvirtdKeeper, async () => (await clients(s)) >= 1, {
    pid: () => runningPid(s, libvirtdKeeper),
    log: logFile(s, libvirtdKeeper),
    timeoutMs: 20_000,
  });
}

export async function libvirtdReady(s: StackSettings): Promise<boolean> {
  return runningPid(s, libvirtdKeeper) !== undefined && (await answers(s));
}

export async function stopLibvirtd(s: StackSettings): Promise<void> {
  await stopProcess(s, libvirtdKeeper, { graceMs: 5_000 });
  await stopProcess(s, 'libvirtd', { graceMs: 15_000 });
}

function config(p: LibvirtdPaths): string {
  return [
    '# Written by the stack: a libvirtd with the test driver only, reachable on its own socket.',
    `unix_sock_dir = "${p.dir}"`,
    'unix_sock_rw_perms = "0700"',
    'unix_sock_ro_perms = "0700"',
    'unix_sock_admin_perms = "0700"',
    'auth_unix_rw = "none"',
    'auth_unix_ro = "none"',
    // Warnings and errors on stderr, which the stack appends to this part's log.
    'log_outputs = "3:stderr"',
    // Room for the worker's pool, the tests' pools and the benchmark's connection-per-call runs.
    'max_clients = 5000',
    'max_workers = 20',
    '',
  ].join('\n');
}

async function answers(s: StackSettings): Promise<boolean> {
  try {
    await run('virsh', ['-c', libvirtUri(s), 'uri'], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** How many clients libvirtd has, through its admin socket. */
async function clients(s: StackSettings): Promise<number> {
  const { stdout } = await run(
    'virt-admin',
    ['-c', `libvirtd:///system?socket=${libvirtdPaths(s).adminSocket}`, 'srv-clients-info', 'libvirtd'],
    { timeout: 5_000 },
  );
  const m = /^nclients\s*:\s*(\d+)/m.exec(stdout);
  return m ? Number(m[1]) : 0;
}
