import { ApplicationFailure, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { searchAttributes } from '../lib/search-attributes';
import type {
  DriftReport,
  MachineRef,
  OperationOutcome,
  OperationArgs,
  OperationName,
  OperationResult,
  VmCarriedState,
  VmLifecycleInput,
  VmProgress,
} from '../lib/vm/contract';
import { taken } from '../lib/vm/snapshots';
import type { ObservedState } from '../lib/vm/states';
import { canApply } from '../lib/vm/transitions';
import { operationCall, vm } from './vm-activities';
import { correctDrift } from './vm-drift';
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
  type Machine,
} from './vm-machine';
import { provisionMachine } from './vm-provision';

const defaultOperationsPerRun = 200;

/**
 * One machine's state and what changes it, as vmLifecycle's handlers call it: provision,
 * the operations served one at a time in arrival order, the drift corrections that wait
 * their turn in the same queue, and delete. Provisioning and drift correction, each a
 * sequence of activities of its own, are in ./vm-provision and ./vm-drift.
 */
export class MachineLife implements Machine {
  readonly s: VmCarriedState;
  readonly spec: VmLifecycleInput['spec'];
  readonly queue = serialQueue();
  readonly ref: MachineRef;
  private readonly perRun: number;
  private operationsThisRun = 0;
  private current: OperationName | undefined;
  // What the machine will be once everything accepted so far has run: what a new request is judged against.
  private projected: ObservedState;
  private projectedSnapshots: string[];
  // A delete is queued or running; one that failed may be asked again (the machine stays `deleting`).
  private deleteQueued = false;
  // Runs started by the API carry VmName; only those keep VmState current (a server without
  // the attributes registered, like the test server, refuses the upsert).
  private readonly indexed = workflowInfo().typedSearchAttributes.get(searchAttributes.vmName) !== undefined;

  constructor(readonly input: VmLifecycleInput) {
    this.spec = input.spec;
    this.ref = { machineId: input.spec.machineId, name: input.spec.name };
    this.s = initialState(input);
    this.perRun = input.operationsPerRun ?? defaultOperationsPerRun;
    this.projected =
      this.s.phase === 'provisioning' ? (this.s.desired === 'running' ? 'running' : 'shutoff') : this.s.observed;
    this.projectedSnapshots = [...this.s.snapshots];
  }

  /** The Web UI's current details, and VmState for searches. */
  publish(doing?: string): void {
    const s = this.s;
    const state = s.phase === 'ready' ? s.observed : s.phase;
    if (this.indexed) upsertSearchAttributes([{ key: searchAttributes.vmState, value: state }]);
    setCurrentDetails(detailsOf(s, this.queue.waiting(), doing));
  }

  progress(): VmProgress {
    return progressOf(this.input, this.s, { current: this.current, queued: this.queue.waiting() });
  }

  noteError(err: unknown): string {
    this.s.lastError = errorOf(err);
    return this.s.lastError.message;
  }

  apply(outcome: OperationOutcome): void {
    this.s.observed = outcome.observed;
  }

  // ---- provisioning ----------------------------------------------------------------

  // Its steps are in ./vm-provision. The promise is handed back as it is, with no async
  // wrapper around it, so no extra microtask turn comes between its end and the next job.
  provision(): Promise<void> {
    return provisionMachine(this);
  }

  // ---- operations ------------------------------------------------------------------

  /** Refuses, before it enters the history, what cannot follow what is already accepted. */
  validate<K extends OperationName>(op: K, args: OperationArgs[K]): void {
    validateOperation(op, args, this.s, {
      deleteQueued: this.deleteQueued,
      projected: this.projected,
      projectedSnapshots: this.projectedSnapshots,
    });
  }

  /** Runs an accepted operation when its turn comes; the outcome is what the update returns. */
  operate<K extends OperationName>(op: K, args: OperationArgs[K]): Promise<OperationResult> {
    // The handler starts in arrival order, right after its validator: project its effect now.
    const verdict = canApply(op, this.projected, { snapshot: (args as { snapshot?: string }).snapshot });
    if (verdict.ok && verdict.target !== 'unchanged') this.projected = verdict.target;
    if (op === 'snapshot') this.projectedSnapshots.push((args as OperationArgs['snapshot']).name);
    if (op === 'delete') this.deleteQueued = true;
    return this.queue.run(async () => {
      this.current = op;
      try {
        return await this.execute(op, args);
      } catch (err) {
        if (op === 'delete') this.deleteQueued = false;
        if (err instanceof ApplicationFailure && err.type === 'Conflict') throw err;
        throw await this.operationFailed(op, err);
      } finally {
        this.current = undefined;
        this.s.operations++;
        this.operationsThisRun++;
        if (this.queue.waiting() === 0) {
          this.projected = this.s.observed;
          this.projectedSnapshots = [...this.s.snapshots];
        }
        this.publish();
      }
    });
  }

  private async execute<K extends OperationName>(op: K, args: OperationArgs[K]): Promise<OperationResult> {
    const s = this.s;
    if (op === 'delete' && (s.phase === 'ready' || s.phase === 'deleting')) return this.remove();
    if (s.phase !== 'ready') throw refused(`${op} cannot run: the machine is ${s.phase}`);
    const a = args as Record<string, unknown>;
    const verdict = canApply(op, s.observed, {
      snapshots: s.snapshots,
      lost: s.lostSnapshots,
      snapshot: a.snapshot as string | undefined,
    });
    if (!verdict.ok) throw refused(verdict.reason);
    this.publish(`${op}`);
    const call = operationCall(op);
    if (!call) throw refused(`${op} is not an operation of this machine`);
    const outcome = await call(this.ref, args);
    if (op === 'snapshot') Object.assign(s, taken(s, a.name as string));
    this.apply(outcome);
    const desired = desiredAfter[op] ?? (op === 'revert' ? desiredOf(s.observed) : undefined);
    if (desired && desired !== s.desired) {
      s.desired = desired;
      await vm.recordMachine(this.ref.machineId, { desiredState: desired });
    }
    return { operation: op, observed: s.observed, ...(outcome.forced ? { forced: true } : {}) };
  }

  /** What a failed operation answers, with what libvirt says of the machine now. */
  private async operationFailed(op: OperationName, err: unknown): Promise<ApplicationFailure> {
    const why = this.noteError(err);
    // What the failed call left behind is whatever libvirt says now.
    await vm.observeMachine(this.ref).then(
      (o) => void (this.s.observed = o.observed),
      () => undefined,
    );
    return ApplicationFailure.create({
      message: `${op} failed: ${why}`,
      type: this.s.lastError?.code ?? 'MACHINE_OPERATION_FAILED',
      details: [this.s.lastError],
      nonRetryable: true,
    });
  }

  /** Delete: destroy, undefine, mark deleted. The workflow ends once it is done. */
  private async remove(): Promise<OperationResult> {
    const { s, ref } = this;
    s.phase = 'deleting';
    s.desired = 'deleted';
    await vm.recordMachine(ref.machineId, { status: 'deleting', desiredState: 'deleted' });
    this.publish('deleting: destroying and undefining the domain');
    this.apply(await vm.removeDomain(ref));
    s.phase = 'deleted';
    await vm.recordMachine(
      ref.machineId,
      { status: 'deleted' },
      { type: 'delete', outcome: 'ok', message: 'deleted: domain destroyed and undefined' },
    );
    return { operation: 'delete', observed: s.observed };
  }

  // ---- drift, as the reconciler reports it -------------------------------------------

  /** A drift report waits its turn behind the operations; a machine not ready, or going away, ignores it. */
  async drift(report: DriftReport): Promise<void> {
    if (this.deleteQueued || this.s.phase !== 'ready') return;
    await this.queue.run(async () => {
      try {
        await correctDrift(this, report);
      } finally {
        if (this.queue.waiting() === 0) {
          this.projected = this.s.observed;
          this.projectedSnapshots = [...this.s.snapshots];
        }
        this.publish();
      }
    });
  }

  // ---- the run's end ---------------------------------------------------------------

  /** The machine is gone or failed, or this run has served its share and the next run goes on. */
  runEnds(): boolean {
    const s = this.s;
    return (
      s.phase === 'deleted' ||
      s.phase === 'failed' ||
      this.operationsThisRun >= this.perRun ||
      (workflowInfo().continueAsNewSuggested && this.queue.waiting() === 0)
    );
  }
}
