import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  metricMeter,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchResult, BatchMigrationActivities } from '../activities/batch-migration';
import {
  batchSizeCeiling,
  batchSizeFloor,
  defaultThrottleLimits,
  nextBatchSize,
  overloadDelayMs,
  overloaded,
  rateDelayMs,
} from '../lib/batch-migration/batching';
import {
  cancelMigration,
  configureMigration,
  migrationProgress,
  pauseMigration,
  resumeMigration,
  setMigrationBatchSize,
  setMigrationRate,
  type BatchMigrationInput,
  type CarriedState,
  type MigrationResult,
  type MigrationState,
  type Settings,
} from '../lib/batch-migration/contract';
import { describeMigration, type MigrationWait } from '../lib/batch-migration/details';
import { throttleWaits } from '../lib/batch-migration/metrics';
import { initialState, progressOf } from '../lib/batch-migration/progress';
import { searchAttributes } from '../lib/search-attributes';
import type { Forwarder } from './batch-migration-partitions';

// A batch heartbeats every second; 15 s without one means its worker is gone and
// another worker retries the batch (which is then a no-op if it had committed).
const db = proxyActivities<BatchMigrationActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '15s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});
export const records = proxyActivities<BatchMigrationActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumInterval: '10s' },
});

const defaultBatchesPerRun = 500;
const minWaitMs = 250;

/**
 * One batchMigration run's state and what changes it: its controls (pause, resume, cancel,
 * settings), the states it records, and the batch loop of one key range with its pacing.
 */
export class MigrationRun {
  readonly s: CarriedState;
  readonly runId: string;
  readonly isPartition: boolean;
  /** Passes the controls on to the partitions' children, once they run (./batch-migration-partitions). */
  readonly children: Forwarder = { forward: async () => undefined };
  // Runs started by the API and the CLI carry MigrationName; only those keep MigrationState
  // current (a server without the attributes registered, like the test server, rejects upserts).
  private readonly indexed: boolean;
  private readonly limits: typeof defaultThrottleLimits;

  constructor(readonly input: BatchMigrationInput) {
    const { workflowId, typedSearchAttributes } = workflowInfo();
    this.indexed = typedSearchAttributes.get(searchAttributes.migrationName) !== undefined;
    this.runId = input.partition?.runId ?? workflowId;
    this.isPartition = input.partition !== undefined;
    this.limits = { ...defaultThrottleLimits, ...input.throttle };
    this.s = input.carry ?? initialState(input);
  }

  /** The Web UI's current details say the state in words; they change with every state, batch and request. */
  say(wait?: MigrationWait): void {
    setCurrentDetails(describeMigration(progressOf(this.input, this.runId, this.s), wait));
  }

  result(): MigrationResult {
    const { s } = this;
    return { runId: this.runId, state: s.state, rowsDone: s.rowsDone, rowsChanged: s.rowsChanged };
  }

  /** Every state change is recorded by the workflow itself, so no worker crash can leave it half-made. */
  async enter(state: MigrationState, extra: { lastError?: string; verify?: unknown } = {}): Promise<void> {
    const { s } = this;
    s.state = state;
    if (extra.lastError) s.lastError = extra.lastError;
    this.say();
    if (this.indexed) upsertSearchAttributes([{ key: searchAttributes.migrationState, value: state }]);
    if (this.isPartition) return;
    const finished = state === 'completed' || state === 'failed' || state === 'cancelled';
    await records.recordMigrationRun(this.runId, { state, ...extra, finished });
  }

  /** Pause, resume, cancel and new settings; set before anything else, since a buffered signal arrives with its handler. */
  setControls(): void {
    const { s } = this;
    const request = (change: () => void, signal: 'pause' | 'resume' | 'cancel') => async () => {
      change();
      this.say();
      await this.children.forward(signal);
    };
    setHandler(
      pauseMigration,
      request(() => (s.pauseRequested = true), 'pause'),
    );
    setHandler(
      resumeMigration,
      request(() => (s.pauseRequested = false), 'resume'),
    );
    setHandler(
      cancelMigration,
      request(() => (s.cancelRequested = true), 'cancel'),
    );
    setHandler(configureMigration, (c) => this.configure(c).then(() => undefined));
    setHandler(setMigrationBatchSize, (batchSize) => this.configure({ batchSize }), {
      validator: (n) => {
        if (!Number.isInteger(n) || n < batchSizeFloor || n > batchSizeCeiling)
          throw new Error(`batchSize must be a whole number from ${batchSizeFloor} to ${batchSizeCeiling}, got ${n}`);
      },
    });
    setHandler(setMigrationRate, (maxRowsPerSecond) => this.configure({ maxRowsPerSecond }), {
      validator: (n) => {
        if (n !== null && (!Number.isInteger(n) || n < 0))
          throw new Error(`rate must be a whole number of rows per second (0 = no limit), got ${n}`);
      },
    });
    setHandler(migrationProgress, () => progressOf(this.input, this.runId, s));
  }

  private async configure(c: { batchSize?: number; maxRowsPerSecond?: number | null }): Promise<Settings> {
    const { s } = this;
    if (c.batchSize !== undefined) {
      s.batchSize = c.batchSize;
      s.adaptive = false;
    }
    if (c.maxRowsPerSecond !== undefined) s.maxRowsPerSecond = c.maxRowsPerSecond || null;
    this.say();
    await this.children.forward('configure');
    if (!this.isPartition)
      await records.recordMigrationRun(this.runId, { batchSize: s.batchSize, maxRowsPerSecond: s.maxRowsPerSecond });
    return { batchSize: s.batchSize, maxRowsPerSecond: s.maxRowsPerSecond, adaptive: s.adaptive };
  }

  /** The batch loop of one key range; returns 'cancelled' when a cancel request stopped it. */
  async runBatches(): Promise<'done' | 'cancelled'> {
    const { s, input } = this;
    const batchesPerRun = input.batchesPerRun ?? defaultBatchesPerRun;
    let batchesThisRun = 0;
    for (;;) {
      if (s.cancelRequested) {
        await this.enter('cancelled');
        return 'cancelled';
      }
      if (s.pauseRequested) {
        await this.enter('paused');
        await condition(() => !s.pauseRequested || s.cancelRequested);
        if (s.cancelRequested) continue;
        await this.enter('running');
      }
      if (batchesThisRun >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        s.continuedRuns++;
        await continueAsNew<(input: BatchMigrationInput) => Promise<MigrationResult>>({ ...input, carry: s });
      }
      const started = Date.now();
      const r = await this.batch();
      batchesThisRun++;
      s.seq++;
      s.cursor = r.lastKey ?? s.cursor;
      s.rowsDone += r.rows;
      s.rowsChanged += r.changed;
      s.lastBatchMs = r.ms;
      if (r.done) {
        s.activeMs += Date.now() - started;
        return 'done';
      }
      const delay = this.pace(r);
      // A pause or cancel cuts the wait short; the rate still holds because the next batch waits again.
      if (delay > 0) await condition(() => s.pauseRequested || s.cancelRequested, delay);
      s.activeMs += Date.now() - started;
    }
  }

  private batch(): Promise<BatchResult> {
    const { s, input, runId } = this;
    return input.reverseOf
      ? db.reverseMigrationBatch({
          runId,
          migration: input.migration,
          sourceRunId: input.reverseOf,
          seq: s.seq,
          after: s.cursor,
        })
      : db.applyMigrationBatch({
          runId,
          migration: input.migration,
          partition: input.partition?.index ?? 0,
          seq: s.seq,
          after: s.cursor,
          upTo: input.partition?.upTo,
          batchSize: s.batchSize,
          dryRun: !!input.dryRun,
          trackCursor: !this.isPartition,
        });
  }

  /** The next batch's size, and the wait before it: the rate owed, or a backoff while the database is loaded. */
  private pace(r: BatchResult): number {
    const { s, input } = this;
    if (s.adaptive && input.targetBatchMs) s.batchSize = nextBatchSize(s.batchSize, r.ms, input.targetBatchMs);
    // The rate's wait is owed up and paid once it is worth a timer: the server fires timers
    // with about a second's granularity, so many 2 ms waits would each cost a second.
    s.rateDebtMs = (s.rateDebtMs ?? 0) + rateDelayMs(r.rows, r.ms, s.maxRowsPerSecond ?? undefined);
    let delay = s.rateDebtMs >= minWaitMs ? s.rateDebtMs : 0;
    if (delay > 0) s.rateDebtMs = 0;
    if (overloaded(r.load, this.limits)) {
      s.overloads++;
      s.batchSize = Math.max(batchSizeFloor, Math.floor(s.batchSize / 2));
      delay = Math.max(delay, overloadDelayMs(s.overloads));
      log.warn('database under load: throttling', { ...r.load, batchSize: s.batchSize, delayMs: delay });
    } else {
      s.overloads = 0;
    }
    this.say(s.overloads > 0 ? { throttledUntil: Date.now() + delay, load: r.load } : undefined);
    if (delay > 0) {
      s.throttledMs += delay;
      throttleWaits(metricMeter, input.migration)(delay);
    }
    return delay;
  }
}
