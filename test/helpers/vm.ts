import type { ObservedState } from '../../lib/vm/states';
import { virsh } from './libvirtd';

/** virsh's view of the domains whose names start with `prefix`: name → state in the API's words. */
export async function virshDomains(uri: string, prefix: string): Promise<Record<string, ObservedState>> {
  const names = (await virsh(uri, 'list', '--all', '--name')).split('\n').filter((n) => n.startsWith(prefix));
  const states: Record<string, ObservedState> = {};
  for (const name of names) states[name] = await virshState(uri, name);
  return states;
}

const words: Record<string, ObservedState> = {
  running: 'running',
  idle: 'blocked',
  paused: 'paused',
  'in shutdown': 'shutdown',
  'shut off': 'shutoff',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
};

export async function virshState(uri: string, name: string): Promise<ObservedState> {
  const out = await virsh(uri, 'domstate', name).catch(() => 'absent');
  return words[out] ?? (out === 'absent' ? 'absent' : (out as ObservedState));
}

/** Removes every domain whose name starts with `prefix`, whatever its state. */
export async function removeDomains(uri: string, prefix: string): Promise<void> {
  for (const name of Object.keys(await virshDomains(uri, prefix))) {
    await virsh(uri, 'destroy', name).catch(() => undefined);
    await virsh(uri, 'undefine', name, '--snapshots-metadata').catch(() => undefined);
  }
}

/** A template of the tiny test-driver kind. */
export const tinyTemplate = (name: string) => ({ name, vcpus: 1, memoryMiB: 128, os: { arch: 'x86_64' } });
