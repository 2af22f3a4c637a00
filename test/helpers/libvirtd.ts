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

/** How many clients the test libvirtd has, from its admin socket. */
export async function libvirtdClients(): Promise<number> {
  const admin = libvirtdPaths(stackSettings('test')).adminSocket;
  const { stdout } = await run('virt-admin', [
    '-c',
    `libvirtd:///system?socket=${admin}`,
    'srv-clients-info',
    'libvirtd',
  ]);
  return Number(/^nclients\s*:\s*(\d+)/m.exec(stdout)?.[1] ?? NaN);
}

/** Polls until `probe` holds; fails with what it waited for after `timeoutMs`. */
export const until = (what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> =>
  waitUntil(what, probe, { timeoutMs });
