import { ApplicationFailure } from '@temporalio/workflow';
import { applicationFailure, failureMessage } from './failure';
import type {
  DesiredState,
  MachineRef,
  OperationArgs,
  OperationName,
  OperationOutcome,
  VmCarriedState,
  VmLifecycleInput,
  VmProgress,
} from '../lib/vm/contract';
import { vmErrorCodes, type VmErrorCode } from '../lib/vm/errors';
import type { ObservedState } from '../lib/vm/states';
import { canApply } from '../lib/vm/transitions';
import { operationArgsSchemas } from '../lib/vm/validate';

/** vmLifecycle's bookkeeping, apart from its calls: what it wants, shows, and accepts. */

/**
 * The machine as a step of its life (./vm-provision, ./vm-drift) works on it: its carried
 * state and the bookkeeping each step does as it goes. MachineLife is one.
 */
export interface Machine {
  readonly input: VmLifecycleInput;
  readonly ref: MachineRef;
  readonly s: VmCarriedState;
  publish(doing?: string): void;
  apply(outcome: OperationOutcome): void;
  noteError(err: unknown): string;
}

/** What the machine is wanted to be after each operation that changes it. */
export const desiredAfter: Partial<Record<OperationName, DesiredState>> = {
  start: 'running',
  reboot: 'running',
  resume: 'running',
  shutdown: 'stopped',
  destroy: 'stopped',
  suspend: 'paused',
  delete: 'deleted',
};

/** What a revert wants: the state the snapshot brought back. */
export const desiredOf = (observed: ObservedState): DesiredState | undefined =>
  observed === 'running' || observed === 'blocked'
    ? 'running'
    : observed === 'paused'
      ? 'paused'
      : observed === 'shutoff'
        ? 'stopped'
        : undefined;

/** An operation refused when its turn came: the state changed while it waited. */
export const refused = (reason: string) =>
  ApplicationFailure.create({ message: reason, type: 'Conflict', nonRetryable: true });

export function initialState(input: VmLifecycleInput): VmCarriedState {
  return (
    input.carry ?? {
      phase: 'provisioning',
      desired: input.spec.runStrategy === 'Halted' ? 'stopped' : 'running',
      observed: 'absent',
      runStrategy: input.spec.runStrategy,
      snapshots: [],
      operations: 0,
      continuedRuns: 0,
    }
  );
}

/** Runs jobs one at a time in the order they were queued, whatever each one's outcome. */
export function serialQueue() {
  let tail: Promise<unknown> = Promise.resolve();
  let waiting = 0;
  return {
    run<T>(job: () => Promise<T>): Promise<T> {
      waiting++;
      const result = tail.then(() => {
        waiting--;
        return job();
      });
      tail = result.catch(() => undefined);
      return result;
    },
    waiting: () => waiting,
  };
}

export function progressOf(
  input: VmLifecycleInput,
  s: VmCarriedState,
  now: { current?: OperationName; queued: number },
): VmProgress {
  return {
    machineId: input.spec.machineId,
    name: input.spec.name,
    phase: s.phase,
    desired: s.desired,
    observed: s.observed,
    runStrategy: s.runStrategy,
    current: now.current,
    queued: now.queued,
    operations: s.operations,
    continuedRuns: s.continuedRuns ?? 0,
    snapshots: [...s.snapshots],
    lostSnapshots: [...(s.lostSnapshots ?? [])],
    lastError: s.lastError,
  };
}

/** The Web UI's current details: what the workflow does, what libvirt reports, what waits. */
export function detailsOf(s: VmCarriedState, queued: number, doing?: string): string {
  const lines = [
    doing ? `Now: ${doing}.` : s.phase === 'ready' ? 'Idle: waiting for an operation.' : `Phase: ${s.phase}.`,
    `libvirt reports ${s.observed}; wanted ${s.desired} (run strategy ${s.runStrategy}).`,
    `${s.operations} operations so far${queued ? `, ${queued} waiting` : ''}.`,
    s.snapshots.length ? `Snapshots: ${s.snapshots.join(', ')}.` : 'No snapshots.',
    ...(s.lostSnapshots?.length
      ? [`Lost snapshots (libvirt no longer has them): ${s.lostSnapshots.map((l) => l.name).join(', ')}.`]
      : []),
    ...(s.lastError ? [`Last error: ${s.lastError.code}: ${s.lastError.message}`] : []),
  ];
  return lines.join('\n');
}

/** An activity's failure as the machine's last error: its VM error code, or MACHINE_OPERATION_FAILED. */
export function errorOf(err: unknown): { code: VmErrorCode; message: string } {
  const message = failureMessage(err);
  const details = applicationFailure(err)?.details?.[0] as { code?: string } | undefined;
  const code = (vmErrorCodes as readonly string[]).includes(details?.code ?? '')
    ? (details?.code as VmErrorCode)
    : 'MACHINE_OPERATION_FAILED';
  return { code, message };
}

/**
 * Refuses, before it enters the history, what cannot follow what is already accepted:
 * `projected` is what the machine will be once the accepted operations have run.
 */
export function validateOperation<K extends OperationName>(
  op: K,
  args: OperationArgs[K],
  s: VmCarriedState,
  accepted: { deleteQueued: boolean; projected: ObservedState; projectedSnapshots: string[] },
): void {
  const parsed = operationArgsSchemas[op].safeParse(args ?? {});
  if (!parsed.success) {
    throw new Error(`invalid ${op}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (s.phase === 'failed') throw new Error(`${op} refused: the machine failed to provision (${s.lastError?.message})`);
  if (accepted.deleteQueued || s.phase === 'deleted')
    throw new Error(`${op} refused: the machine is deleted or being deleted`);
  if (op === 'delete') return;
  if (s.phase === 'deleting')
    throw new Error(`${op} refused: the machine is being deleted; only delete may be asked again`);
  const a = args as { snapshot?: string };
  const verdict = canApply(op, accepted.projected, {
    snapshots: accepted.projectedSnapshots,
    lost: s.lostSnapshots,
    snapshot: a.snapshot,
  });
  if (!verdict.ok) throw new Error(verdict.reason);
}
