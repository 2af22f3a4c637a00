import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * libvirtd's client count, and a wait for it to fall back: the libvirt binding's
 * connectClose leaves the connection open on libvirtd until the garbage collector frees
 * the connection's Domains, so a benchmark that opens connections by the hundred must
 * collect and wait before its next round, or that round pays for the last one's sockets.
 */

/** How many client connections libvirtd holds now, from its admin socket. */
export function libvirtdClients(adminSocket: string): () => Promise<number> {
  const run = promisify(execFile);
  return async () => {
    const { stdout } = await run('virt-admin', [
      '-c',
      `libvirtd:///system?socket=${adminSocket}`,
      'srv-clients-info',
      'libvirtd',
    ]);
    const m = /^nclients\s*:\s*(\d+)/m.exec(stdout);
    if (!m) throw new Error(`virt-admin printed no client count: ${stdout}`);
    return Number(m[1]);
  };
}

// The benchmark collects garbage on purpose between rounds; tsx gives no way to pass --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Frees the Domains of closed connections, and waits (10 s at most) until libvirtd is back to `idle` clients. */
export async function settle(clients: () => Promise<number>, idle: number): Promise<void> {
  collectGarbage();
  for (const deadline = Date.now() + 10_000; (await clients()) > idle && Date.now() < deadline;)
    await new Promise((r) => setTimeout(r, 100));
}
