import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { libvirtdPaths, libvirtdReady, libvirtUri, startLibvirtd, stopLibvirtd } from '../../scripts/stack/libvirtd';
import { stackSettings } from '../../scripts/stack/parts';

const run = promisify(execFile);

/**
 * The test stack's libvirtd (test driver, own socket under the slot's data folder).
 * Started here when the stack has not started it, and then stopped by `release`.
 */
export async function testLibvirtd(): Promise<{ uri: string; release(): Promise<void> }> {
  const s = stackSettings('test');
  const ours = !(await libvirtdReady(s));
  if (ours) await startLibvirtd(s);
  return {
    uri: libvirtUri(s),
    async release() {
      if (ours) await stopLibvirtd(s);
    },
  };
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
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
