import type { RetryPolicy } from '@temporalio/common';
import { proxyActivities } from '@temporalio/workflow';
import type { VmActivities } from '../activities/vm';
import type { MachineRef, OperationOutcome } from '../lib/vm/contract';
import type { OperationArgs, OperationName } from '../lib/vm/contract';
import type { CorrectiveStep } from '../lib/vm/reconcile';
import type { MachineSpec } from '../lib/vm/validate';

/** The activities vmLifecycle calls, with their timeouts and the VM backend's retry policy. */

// The VM backend's policy: 3 retries, 1 s doubling up to 30 s. A dead worker is noticed by
// the missed heartbeats (every activity beats each second while it waits on libvirt).
const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 4,
};
export const vm = proxyActivities<VmActivities>({ startToCloseTimeout: '2m', heartbeatTimeout: '10s', retry });
// A graceful shutdown waits for the guest up to its timeout (at most 10 minutes) before it pulls the plug.
const vmShutdown = proxyActivities<VmActivities>({ startToCloseTimeout: '12m', heartbeatTimeout: '10s', retry });

/** Every operation but delete, which takes several steps of its own. */
export type SingleStepOperation = Exclude<OperationName, 'delete'>;

type Calls = { [K in SingleStepOperation]: (ref: MachineRef, args: OperationArgs[K]) => Promise<OperationOutcome> };

const calls: Calls = {
  start: (ref) => vm.startMachine(ref),
  shutdown: (ref, args) => vmShutdown.shutdownMachine(ref, args),
  destroy: (ref) => vm.destroyMachine(ref),
  reboot: (ref) => vm.rebootMachine(ref),
  suspend: (ref) => vm.suspendMachine(ref),
  resume: (ref) => vm.resumeMachine(ref),
  snapshot: (ref, args) => vm.snapshotMachine(ref, args),
  revert: (ref, args) => vm.revertMachine(ref, args),
  resize: (ref, args) => vm.resizeMachine(ref, args),
};

type Call = (ref: MachineRef, args: unknown) => Promise<OperationOutcome>;

/** The activity of a single-step operation, its arguments validated already; undefined for any other name. */
export function operationCall(op: OperationName): Call | undefined {
  return op === 'delete' ? undefined : (calls[op] as Call | undefined);
}

/** The activity of one step of a drift correction. */
export function correctiveCall(
  step: CorrectiveStep,
  ref: MachineRef,
  definition: { uuid: string; spec: MachineSpec },
): Promise<OperationOutcome> {
  switch (step) {
    case 'define':
      return vm.defineMachine(ref, definition);
    case 'shutdown':
      return vmShutdown.shutdownMachine(ref, {});
    default:
      return calls[step](ref, {});
  }
}
