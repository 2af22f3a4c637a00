import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { libvirtdPaths, libvirtdReady, libvirtUri } from '../../scripts/stack/libvirtd';
import { stackSettings } from '../../scripts/stack/parts';
import { waitUntil } from './wait';

const run = promisify(execFile);

/**
 * The test stack's libvirtd (test driver, own socket under the slot's data folder),
 * which test/setup/stack-up.ts starts with the other infrastructure parts.
 */
export async function testLibvirtd(): Promise<{ uri: string; release(): Promise<void> }> {
  const s = stackSettings('test');
  if (!(await libvirtdReady(s))) {
    throw new Error(
      `the test stack's libvirtd is not running under ${s.dataDir}: run this file in the stack project (jest --selectProjects stack)`,
    );
  }
  // The stack owns the daemon and stops it at the end of the run.
  return { uri: libvirtUri(s), release: async () => undefined };
}

/** Runs virsh, the client no one here wrote, against the test libvirtd. */
export async function virsh(uri: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('virsh', ['--quiet', '-c', uri, ...args], { env: { ...process.env, LC_ALL: 'C' } });
  return stdout.trim();
}

/**
 * The test libvirtd's clients, each id with the process it belongs to, from its admin
 * socket. Other processes of the run (the keeper, a worker, virsh) come and go, so a
 * test judges its own connections by id, never by the total.
 */
export async function libvirtdClients(): Promise<Map<number, number>> {
  const admin = ['-c', `libvirtd:///system?socket=${libvirtdPaths(stackSettings('test')).adminSocket}`];
  const { stdout } = await run('virt-admin', [...admin, 'srv-clients-list', 'libvirtd']);
  const ids = [...stdout.matchAll(/^\s*(\d+)\s+\S+\s+\d{4}-/gm)].map((m) => Number(m[1]));
  const clients = new Map<number, number>();
  await Promise.all(
    ids.map(async (id) => {
      try {
        const info = await run('virt-admin', [...admin, 'client-info', 'libvirtd', String(id)]);
        clients.set(id, Number(/^unix_process_id\s*:\s*(\d+)/m.exec(info.stdout)?.[1] ?? NaN));
      } catch {
        // It left between the list and the question: it is not a client any more.
      }
    }),
  );
  return clients;
}

/** The ids of the clients this process holds open. */
export async function ownLibvirtdClients(): Promise<Set<number>> {
  const clients = await libvirtdClients();
  return new Set([...clients].filter(([, pid]) => pid === process.pid).map(([id]) => id));
}

/** Polls until `probe` holds; fails with what it waited for after `timeoutMs`. */
export const until = (what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> =>
  waitUntil(what, probe, { timeoutMs });
