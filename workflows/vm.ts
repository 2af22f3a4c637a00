import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MachineRef, OperationOutcome } from '../activities/vm';
import { searchAttributes } from '../lib/search-attributes';
import {
  driftSignal,
  operationNames,
  operationUpdates,
  progress,
  type DriftReport,
  type OperationArgs,
  type OperationName,
  type OperationResult,
  type VmLifecycleInput,
  type VmLifecycleResult,
} from '../lib/vm/contract';
import { reconcile } from '../lib/vm/reconcile';
import type { ObservedState } from '../lib/vm/states';
import { canApply } from '../lib/vm/transitions';
import { correctiveCall, operationCall, vm } from './vm-activities';
import {
  desiredAfter,
  desiredOf,
  detailsOf,
  errorOf,
  initialState,
  progressOf,
  refused,
  serialQueue,
  validateOperation,
} from './vm-machine';

/**
 * One machine's whole life, id `vm-<machineId>`: provision it (define, then start; on
 * failure undo what was done, mark it failed and say why), then serve its operations as
 * updates, one at a time in the order they arrived, until it is deleted. An operation
 * the machine's state cannot take (resume a running machine) is refused by the update's
 * validator before it enters the history. The reconciler's drift reports wait their turn
 * in the same queue, so nothing changes the machine behind its workflow's back.
 */

const defaultOperationsPerRun = 200;

export async function vmLifecycle(input: VmLifecycleInput): Promise<VmLifecycleResult> {
  const { spec, uuid } = input;
  const ref: MachineRef = { machineId: spec.machineId, name: spec.name };
  const s = initialState(input);
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

  /** The Web UI's current details, and VmState for searches. */
  function publish(doing?: string): void {
    const state = s.phase === 'ready' ? s.observed : s.phase;
    if (indexed) upsertSearchAttributes([{ key: searchAttributes.vmState, value: state }]);
    setCurrentDetails(detailsOf(s, queue.waiting(), doing));
  }

  function noteError(err: unknown): string {
    s.lastError = errorOf(err);
    return s.lastError.message;
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
    const call = operationCall(op);
    if (!call) throw refused(`${op} is not an operation of this machine`);
    const outcome = await call(ref, args);
    if (op === 'snapshot' && !s.snapshots.includes(a.name as string)) s.snapshots.push(a.name as string);
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

  for (const op of operationNames) {
    setHandler(operationUpdates[op] as typeof operationUpdates.start, (args) => operate(op, args as never), {
      validator: (args) => validateOperation(op, args as never, s, { deleteQueued, projected, projectedSnapshots }),
    });
  }
  setHandler(progress, () => progressOf(input, s, { current, queued: queue.waiting() }));

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
      for (const step of decision.steps) apply(await correctiveCall(step, ref, { uuid, spec }));
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
