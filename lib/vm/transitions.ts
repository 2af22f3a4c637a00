import type { OperationName } from './contract';
import type { LostSnapshot } from './snapshots';
import type { ObservedState } from './states';

/**
 * Which operation is possible from which state libvirt reports. The workflow asks this
 * before it runs an operation, so an impossible request (resume a running machine) is
 * refused at once with a reason instead of failing inside libvirt.
 */

/** A blocked domain is running but waiting on I/O: every operation treats it as running. */
const isRunning = (s: ObservedState) => s === 'running' || s === 'blocked';
const isActive = (s: ObservedState) => isRunning(s) || s === 'paused' || s === 'pmsuspended' || s === 'shutdown';

export type Verdict = { ok: true; target: ObservedState | 'unchanged' } | { ok: false; reason: string };

export interface TransitionContext {
  /** Snapshots the machine has, for revert. */
  snapshots?: readonly string[];
  /** Snapshots libvirt no longer has: a revert to one is refused, saying so. */
  lost?: readonly LostSnapshot[];
  snapshot?: string;
}

const refuse = (reason: string): Verdict => ({ ok: false, reason });
const to = (target: ObservedState | 'unchanged'): Verdict => ({ ok: true, target });

export function canApply(op: OperationName, state: ObservedState, ctx: TransitionContext = {}): Verdict {
  const is = `it is ${state === 'absent' ? 'not defined in libvirt' : state}`;
  if (state === 'absent' && op !== 'delete') return refuse(`${op} needs a defined machine; ${is}`);
  switch (op) {
    case 'start':
      return state === 'shutoff' || state === 'crashed' || state === 'nostate'
        ? to('running')
        : refuse(`start needs a machine that is shut off; ${is}${state === 'paused' ? ' (use resume)' : ''}`);
    case 'shutdown':
      // A paused guest cannot act on the ACPI request; asking for it would only wait out the timeout.
      return isRunning(state)
        ? to('shutoff')
        : refuse(
            `shutdown needs a running machine; ${is}${state === 'paused' ? ' (resume it first, or destroy it)' : ''}`,
          );
    case 'destroy':
      return isActive(state) || state === 'crashed' ? to('shutoff') : refuse(`destroy needs an active machine; ${is}`);
    case 'reboot':
      return isRunning(state) ? to('running') : refuse(`reboot needs a running machine; ${is}`);
    case 'suspend':
      return isRunning(state) ? to('paused') : refuse(`suspend needs a running machine; ${is}`);
    case 'resume':
      return state === 'paused' || state === 'pmsuspended'
        ? to('running')
        : refuse(`resume needs a paused machine; ${is}`);
    case 'snapshot':
      return state === 'shutdown' || state === 'crashed'
        ? refuse(`snapshot needs a machine at rest or running; ${is}`)
        : to('unchanged');
    case 'revert':
      if (ctx.snapshot !== undefined && ctx.snapshots && !ctx.snapshots.includes(ctx.snapshot)) {
        const lost = ctx.lost?.find((l) => l.name === ctx.snapshot);
        if (lost) {
          return refuse(
            `revert refused: snapshot ${JSON.stringify(lost.name)} is lost: libvirt no longer has it (noticed ${lost.lostAt}; ` +
              'its domain was lost or the snapshot deleted outside the machine); take a new snapshot',
          );
        }
        const known = ctx.snapshots.length ? ctx.snapshots.join(', ') : 'none';
        return refuse(
          `revert needs an existing snapshot; ${JSON.stringify(ctx.snapshot)} is not one (snapshots: ${known})`,
        );
      }
      // The state after a revert is the one the snapshot was taken in, which libvirt reports afterwards.
      return state === 'shutdown'
        ? refuse(`revert must wait until the shutdown in progress ends; ${is}`)
        : to('unchanged');
    case 'resize':
      // Shut off: the new sizes go into the definition. Running: applied live, within the maxima set at define.
      return state === 'shutoff' || isRunning(state)
        ? to('unchanged')
        : refuse(`resize needs a machine that is shut off or running; ${is}`);
    case 'delete':
      return to('absent');
  }
}

/** Every operation possible from a state, for the API's "allowed actions" and the UI. */
export function allowedOperations(state: ObservedState, ops: readonly OperationName[]): OperationName[] {
  return ops.filter((op) => canApply(op, state).ok);
}
