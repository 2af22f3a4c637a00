import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { MachineRef, OperationOutcome, VmActivities } from '../activities/vm';
import { permanentErrorTypes } from '../lib/errors';
import { searchAttributes } from '../lib/search-attributes';
import {
  driftSignal,
  operationNames,
  operationUpdates,
  progress,
  type DesiredState,
  type DriftReport,
  type OperationArgs,
  type OperationName,
  type OperationResult,
  type VmCarriedState,
  type VmLifecycleInput,
  type VmLifecycleResult,
  type VmProgress,
} from '../lib/vm/contract';
import { vmErrorCodes, type VmErrorCode } from '../lib/vm/errors';
import { reconcile, type CorrectiveStep } from '../lib/vm/reconcile';
import type { ObservedState } from '../lib/vm/states';
import { canApply } from '../lib/vm/transitions';
import { operationArgsSchemas } from '../lib/vm/validate';

/**
 * One machine's whole life, id `vm-<machineId>`: provision it (define, then start; on
 * failure undo what was done, mark it failed and say why), then serve its operations as
 * updates, one at a time in the order they arrived, until it is deleted. An operation
 * the machine's state cannot take (resume a running machine) is refused by the update's
 * validator before it enters the history. The reconciler's drift reports wait their turn
 * in the same queue, so nothing changes the machine behind its workflow's back.
 */

// The VM backend's policy: 3 retries, 1 s doubling up to 30 s. A dead worker is noticed by
// the missed heartbeats (every activity beats each second while it waits on libvirt).
const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 4,
  nonRetryableErrorTypes: [...permanentErrorTypes],
};
const vm = proxyActivities<VmActivities>({ startToCloseTimeout: '2m', heartbeatTimeout: '10s', retry });
// A graceful shutdown waits for the guest up to its timeout (at most 10 minutes) before it pulls the plug.
const vmShutdown = proxyActivities<VmActivities>({ startToCloseTimeout: '12m', heartbeatTimeout: '10s', retry });

const defaultOperationsPerRun = 200;

/** Runs jobs one at a time in the order they were queued, whatever each one's outcome. */
function serialQueue() {
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

const desiredAfter: Partial<Record<OperationName, DesiredState>> = {
  start: 'running',
  reboot: 'running',
  resume: 'running',
  shutdown: 'stopped',
  destroy: 'stopped',
  suspend: 'paused',
  delete: 'deleted',
};

/** An operation refused when its turn came: the state changed while it waited. */
const refused = (reason: string) =>
  ApplicationFailure.create({ message: reason, type: 'Conflict', nonRetryable: true });

export async function vmLifecycle(input: VmLifecycleInput): Promise<VmLifecycleResult> {
  const { spec, uuid } = input;
  const ref: MachineRef = { machineId: spec.machineId, name: spec.name };
  const s: VmCarriedState = input.carry ?? {
    phase: 'provisioning',
    desired: spec.runStrategy === 'Halted' ? 'stopped' : 'running',
    observed: 'absent',
    runStrategy: spec.runStrategy,
    snapshots: [],
    operations: 0,
    continuedRuns: 0,
  };
  const queue = serialQueue();
  const perRun = input.operationsPerRun ?? defaultOperationsPerRun;
  let operationsThisRun = 0;
  let current: OperationName | undefined;
  // What the machine will be once everything accepted so far has run: what a new request is judged against.
  let projected: ObservedState =
    s.phase === 'provisioning' ? (s.desired === 'running' ? 'running' : 'shutoff') : s.observed;
  let projectedSnapshots = [...s.snapshots];
  // A delete is queued or running; one that failed may be asked again (the machine stays `deleting`).
  let deleteQueued = false;
  // Runs started by the API carry VmName; only those keep VmState current (a server without
  // the attributes registered, like the test server, refuses the upsert).
  const indexed = workflowInfo().typedSearchAttributes.get(searchAttributes.vmName) !== undefined;
  // Provisioning goes first in the queue, before any handler is registered: updates that
  // arrived with the start are delivered as their handlers are set, and must wait behind it.
  const provisioned = input.carry ? undefined : queue.run(() => provision());

  const view = (): VmProgress => ({
    machineId: spec.machineId,
    name: spec.name,
    phase: s.phase,
    desired: s.desired,
    observed: s.observed,
    runStrategy: s.runStrategy,
    current,
    queued: queue.waiting(),
    operations: s.operations,
    continuedRuns: s.continuedRuns ?? 0,
    snapshots: [...s.snapshots],
    lastError: s.lastError,
  });

  /** The Web UI's current details, and VmState for searches. */
  function publish(doing?: string): void {
    const state = s.phase === 'ready' ? s.observed : s.phase;
    if (indexed) upsertSearchAttributes([{ key: searchAttributes.vmState, value: state }]);
    const lines = [
      doing ? `Now: ${doing}.` : s.phase === 'ready' ? 'Idle: waiting for an operation.' : `Phase: ${s.phase}.`,
      `libvirt reports ${s.observed}; wanted ${s.desired} (run strategy ${s.runStrategy}).`,
      `${s.operations} operations so far${queue.waiting() ? `, ${queue.waiting()} waiting` : ''}.`,
      s.snapshots.length ? `Snapshots: ${s.snapshots.join(', ')}.` : 'No snapshots.',
      ...(s.lastError ? [`Last error: ${s.lastError.code}: ${s.lastError.message}`] : []),
    ];
    setCurrentDetails(lines.join('\n'));
  }

  function noteError(err: unknown): string {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const message = cause instanceof Error ? cause.message : String(cause);
    const details =
      cause instanceof ApplicationFailure ? (cause.details?.[0] as { code?: string } | undefined) : undefined;
    const code = (vmErrorCodes as readonly string[]).includes(details?.code ?? '')
      ? (details?.code as VmErrorCode)
      : 'MACHINE_OPERATION_FAILED';
    s.lastError = { code, message };
    return message;
  }

  function apply(outcome: OperationOutcome): void {
    s.observed = outcome.observed;
  }

  // ---- provisioning ----------------------------------------------------------------

  async function provision(): Promise<void> {
    publish('defining the domain');
    try {
      apply(await vm.defineMachine(ref, { uuid, spec }));
      if (s.desired === 'running') {
        publish('starting the domain');
        apply(await vm.startMachine(ref));
      }
      s.phase = 'ready';
      await vm.recordMachine(
        ref.machineId,
        { status: 'ready', desiredState: s.desired },
        { type: 'provision', outcome: 'ok', message: `provisioned: ${s.observed}` },
      );
      publish();
    } catch (err) {
      const why = noteError(err);
      // Undo whatever was done, even if this workflow is being cancelled.
      await CancellationScope.nonCancellable(async () => {
        publish(`provisioning failed (${why}): removing the domain`);
        let undone = 'the domain was removed';
        try {
          apply(await vm.removeDomain(ref));
        } catch (undoErr) {
          undone = `removing the domain failed too (${noteError(undoErr)}); the reconciler reports it if it is left`;
        }
        s.phase = 'failed';
        await vm.recordMachine(
          ref.machineId,
          { status: 'failed', lastError: why },
          {
            type: 'provision',
            outcome: 'error',
            code: s.lastError?.code,
            severity: 'high',
            message: `provisioning failed: ${why}; ${undone}`,
          },
        );
        publish();
      });
    }
  }

  // ---- operations ------------------------------------------------------------------

  async function execute<K extends OperationName>(op: K, args: OperationArgs[K]): Promise<OperationResult> {
    if (op === 'delete' && (s.phase === 'ready' || s.phase === 'deleting')) return remove();
    if (s.phase !== 'ready') throw refused(`${op} cannot run: the machine is ${s.phase}`);
    const a = args as Record<string, unknown>;
    const verdict = canApply(op, s.observed, { snapshots: s.snapshots, snapshot: a.snapshot as string | undefined });
    if (!verdict.ok) throw refused(verdict.reason);
    publish(`${op}`);
    let outcome: OperationOutcome;
    switch (op) {
      case 'start':
        outcome = await vm.startMachine(ref);
        break;
      case 'shutdown':
        outcome = await vmShutdown.shutdownMachine(ref, a as OperationArgs['shutdown']);
        break;
      case 'destroy':
        outcome = await vm.destroyMachine(ref);
        break;
      case 'reboot':
        outcome = await vm.rebootMachine(ref);
        break;
      case 'suspend':
        outcome = await vm.suspendMachine(ref);
        break;
      case 'resume':
        outcome = await vm.resumeMachine(ref);
        break;
      case 'snapshot':
        outcome = await vm.snapshotMachine(ref, a as OperationArgs['snapshot']);
        if (!s.snapshots.includes(a.name as string)) s.snapshots.push(a.name as string);
        break;
      case 'revert':
        outcome = await vm.revertMachine(ref, a as OperationArgs['revert']);
        break;
      case 'resize':
        outcome = await vm.resizeMachine(ref, a as OperationArgs['resize']);
        break;
      default:
        throw refused(`${op} is not an operation of this machine`);
    }
    apply(outcome);
    const desired = desiredAfter[op] ?? (op === 'revert' ? desiredOf(s.observed) : undefined);
    if (desired && desired !== s.desired) {
      s.desired = desired;
      await vm.recordMachine(ref.machineId, { desiredState: desired });
    }
    return { operation: op, observed: s.observed, ...(outcome.forced ? { forced: true } : {}) };
  }

  /** Delete: destroy, undefine, mark deleted. The workflow ends once it is done. */
  async function remove(): Promise<OperationResult> {
    s.phase = 'deleting';
    s.desired = 'deleted';
    await vm.recordMachine(ref.machineId, { status: 'deleting', desiredState: 'deleted' });
    publish('deleting: destroying and undefining the domain');
    apply(await vm.removeDomain(ref));
    s.phase = 'deleted';
    await vm.recordMachine(
      ref.machineId,
      { status: 'deleted' },
      { type: 'delete', outcome: 'ok', message: 'deleted: domain destroyed and undefined' },
    );
    return { operation: 'delete', observed: s.observed };
  }

  /** Runs an accepted operation when its turn comes; the outcome is what the update returns. */
  function operate<K extends OperationName>(op: K, args: OperationArgs[K]): Promise<OperationResult> {
    // The handler starts in arrival order, right after its validator: project its effect now.
    const verdict = canApply(op, projected, { snapshot: (args as { snapshot?: string }).snapshot });
    if (verdict.ok && verdict.target !== 'unchanged') projected = verdict.target;
    if (op === 'snapshot') projectedSnapshots.push((args as OperationArgs['snapshot']).name);
    if (op === 'delete') deleteQueued = true;
    return queue.run(async () => {
      current = op;
      try {
        return await execute(op, args);
      } catch (err) {
        if (op === 'delete') deleteQueued = false;
        if (err instanceof ApplicationFailure && err.type === 'Conflict') throw err;
        const why = noteError(err);
        // What the failed call left behind is whatever libvirt says now.
        await vm.observeMachine(ref).then(
          (o) => void (s.observed = o.observed),
          () => undefined,
        );
        throw ApplicationFailure.create({
          message: `${op} failed: ${why}`,
          type: s.lastError?.code ?? 'MACHINE_OPERATION_FAILED',
          details: [s.lastError],
          nonRetryable: true,
        });
      } finally {
        current = undefined;
        s.operations++;
        operationsThisRun++;
        if (queue.waiting() === 0) {
          projected = s.observed;
          projectedSnapshots = [...s.snapshots];
        }
        publish();
      }
    });
  }

  /** Refuses, before it enters the history, what cannot follow what is already accepted. */
  function validate<K extends OperationName>(op: K, args: OperationArgs[K]): void {
    const parsed = operationArgsSchemas[op].safeParse(args ?? {});
    if (!parsed.success) {
      throw new Error(`invalid ${op}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
    if (s.phase === 'failed')
      throw new Error(`${op} refused: the machine failed to provision (${s.lastError?.message})`);
    if (deleteQueued || s.phase === 'deleted')
      throw new Error(`${op} refused: the machine is deleted or being deleted`);
    if (op === 'delete') return;
    if (s.phase === 'deleting')
      throw new Error(`${op} refused: the machine is being deleted; only delete may be asked again`);
    const a = args as { snapshot?: string };
    const verdict = canApply(op, projected, { snapshots: projectedSnapshots, snapshot: a.snapshot });
    if (!verdict.ok) throw new Error(verdict.reason);
  }

  for (const op of operationNames) {
    setHandler(operationUpdates[op] as typeof operationUpdates.start, (args) => operate(op, args as never), {
      validator: (args) => validate(op, args as never),
    });
  }
  setHandler(progress, view);

  // ---- drift, as the reconciler reports it -------------------------------------------

  async function correct(report: DriftReport): Promise<void> {
    if (s.phase !== 'ready') return;
    const seen = await vm.observeMachine(ref);
    s.observed = seen.observed;
    const decision = reconcile({
      runStrategy: s.runStrategy,
      desired: s.desired,
      observed: seen.observed,
      reason: seen.reason,
    });
    if (!decision.drift) return;
    if (decision.desired) s.desired = decision.desired;
    publish(`correcting drift: ${decision.drift}`);
    let outcome = 'corrected';
    try {
      for (const step of decision.steps) apply(await corrective(step));
    } catch (err) {
      outcome = `correction failed: ${noteError(err)}`;
    }
    await vm.recordMachine(
      ref.machineId,
      { desiredState: s.desired },
      {
        type: 'reconcile',
        outcome: outcome === 'corrected' ? (decision.steps.length ? 'ok' : 'drift') : 'error',
        message: `${decision.drift} (reported as ${report.observed}): ${decision.why}${
          decision.steps.length ? `; ${decision.steps.join(', then ')}: ${outcome}, now ${s.observed}` : ''
        }`,
        details: { steps: decision.steps, runStrategy: s.runStrategy },
      },
    );
  }

  function corrective(step: CorrectiveStep): Promise<OperationOutcome> {
    switch (step) {
      case 'define':
        return vm.defineMachine(ref, { uuid, spec });
      case 'start':
        return vm.startMachine(ref);
      case 'resume':
        return vm.resumeMachine(ref);
      case 'shutdown':
        return vmShutdown.shutdownMachine(ref, {});
      case 'destroy':
        return vm.destroyMachine(ref);
    }
  }

  setHandler(driftSignal, async (report) => {
    if (deleteQueued || s.phase !== 'ready') return;
    await queue.run(async () => {
      try {
        await correct(report);
      } finally {
        if (queue.waiting() === 0) projected = s.observed;
        publish();
      }
    });
  });

  // ---- the life ----------------------------------------------------------------------

  publish();
  await provisioned;
  await condition(
    () =>
      s.phase === 'deleted' ||
      s.phase === 'failed' ||
      operationsThisRun >= perRun ||
      (workflowInfo().continueAsNewSuggested && queue.waiting() === 0),
  );
  // Updates already accepted finish (or are refused) before the run ends or continues.
  await condition(allHandlersFinished);
  if (s.phase === 'failed') {
    throw ApplicationFailure.create({
      message: `machine ${spec.name} could not be provisioned: ${s.lastError?.message}`,
      type: 'ProvisionFailed',
      nonRetryable: true,
    });
  }
  if (s.phase === 'deleted') return { machineId: spec.machineId, phase: 'deleted' };
  s.continuedRuns = (s.continuedRuns ?? 0) + 1;
  return continueAsNew<typeof vmLifecycle>({ ...input, spec: { ...spec, runStrategy: s.runStrategy }, carry: s });
}

const desiredOf = (observed: ObservedState): DesiredState | undefined =>
  observed === 'running' || observed === 'blocked'
    ? 'running'
    : observed === 'paused'
      ? 'paused'
      : observed === 'shutoff'
        ? 'stopped'
        : undefined;
