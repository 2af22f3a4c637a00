/** The states of a machine as libvirt reports them. */

// libvirt's states 1 to 7 in its order (byNumber below relies on it), then 0 and our own.
export const observedStates = [
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
  'nostate',
  'absent',
] as const;
/** libvirt's domain states by name, and `absent` when no domain of that name is defined. */
export type ObservedState = (typeof observedStates)[number];

// virDomainState: the index is the number libvirt reports; observedStates begins with
// states 1 to 7 in libvirt's order, and 0 is `nostate`.
const byNumber: readonly ObservedState[] = ['nostate', ...observedStates.slice(0, 7)];

export function stateFromLibvirt(n: number): ObservedState {
  return byNumber[n] ?? 'nostate';
}

/**
 * Why a domain is in its state, as `virsh domstate --reason` words it ("destroyed",
 * "shutdown", "crashed", "failed", "from snapshot", "booted", "user", ...). Only the
 * shut-off reasons matter to the reconciler: a guest that shut itself down finished,
 * any other stop is a failure.
 */
export type StateReason = string;

export const isRunningState = (s: ObservedState): boolean => s === 'running' || s === 'blocked';
