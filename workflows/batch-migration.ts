import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  metricMeter,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { throttleWaits } from '../lib/batch-migration/metrics';
import type { DataMigrationActivities } from '../activities/batch-migration';
import {
  batchSizeCeiling,
  batchSizeFloor,
  defaultThrottleLimits,
  nextBatchSize,
  overloadDelayMs,
  overloaded,
  rateDelayMs,
} from '../lib/batch-migration/batching';
import { describeMigration, type MigrationWait } from '../lib/batch-migration/details';
import { initialState, progressOf } from '../lib/batch-migration/progress';
import {
  cancelMigration,
  configureMigration,
  migrationProgress,
  pauseMigration,
  resumeMigration,
  setMigrationBatchSize,
  setMigrationRate,
  type BatchMigrationInput,
  type MigrationResult,
  type MigrationState,
  type Settings,
} from '../lib/batch-migration/contract';
import { permanentErrorTypes } from '../lib/errors';
import { searchAttributes } from '../lib/search-attributes';
import { runPartitions } from './batch-migration-partitions';

// A batch heartbeats every second; 15 s without one means its worker is gone and
// another worker retries the batch (which is then a no-op if it had committed).
const db = proxyActivities<DataMigrationActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '15s',
  retry: {
    initialInterval: '1s',
    maximumInterval: '30s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...permanentErrorTypes],
  },
});
const records = proxyActivities<DataMigrationActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumInterval: '10s' },
});
const verifier = proxyActivities<DataMigrationActivities>({
  startToCloseTimeout: '30m',
  retry: { maximumAttempts: 3 },
});

const defaultBatchesPerRun = 500;
const minWaitMs = 250;

/** What went wrong, for the run's record: an activity's failure only wraps the error the activity threw. */
function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

export async function batchMigration(input: BatchMigrationInput): Promise<MigrationResult> {
  const { workflowId, typedSearchAttributes } = workflowInfo();
  // Runs started by the API and the CLI carry MigrationName; only those keep MigrationState
  // current (a server without the attributes registered, like the test server, rejects upserts).
  const indexed = typedSearchAttributes.get(searchAttributes.migrationName) !== undefined;
  const runId = input.partition?.runId ?? workflowId;
  const isPartition = input.partition !== undefined;
  const kind = input.reverseOf ? 'reverse' : 'forward';
  const limits = { ...defaultThrottleLimits, ...input.throttle };
  const s = input.carry ?? initialState(input);
  const children = { forward: async (_signal: 'pause' | 'resume' | 'cancel' | 'configure') => undefined as void };
  const settings = (): Settings => ({
    batchSize: s.batchSize,
    maxRowsPerSecond: s.maxRowsPerSecond,
    adaptive: s.adaptive,
  });

  // The Web UI's current details say the state in words; they change with every state, batch and request.
  // Defined before the handlers: a signal buffered before the run began is delivered as its handler is set.
  const say = (wait?: MigrationWait) => setCurrentDetails(describeMigration(progressOf(input, runId, s), wait));

  setHandler(pauseMigration, async () => {
    s.pauseRequested = true;
    say();
    await children.forward('pause');
  });
  setHandler(resumeMigration, async () => {
    s.pauseRequested = false;
    say();
    await children.forward('resume');
  });
  setHandler(cancelMigration, async () => {
    s.cancelRequested = true;
    say();
    await children.forward('cancel');
  });
  const configure = async (c: { batchSize?: number; maxRowsPerSecond?: number | null }) => {
    if (c.batchSize !== undefined) {
      s.batchSize = c.batchSize;
      s.adaptive = false;
    }
    if (c.maxRowsPerSecond !== undefined) s.maxRowsPerSecond = c.maxRowsPerSecond || null;
    say();
    await children.forward('configure');
    if (!isPartition)
      await records.recordMigrationRun(runId, { batchSize: s.batchSize, maxRowsPerSecond: s.maxRowsPerSecond });
    return settings();
  };
  setHandler(configureMigration, (c) => configure(c).then(() => undefined));
  setHandler(setMigrationBatchSize, (batchSize) => configure({ batchSize }), {
    validator: (n) => {
      if (!Number.isInteger(n) || n < batchSizeFloor || n > batchSizeCeiling)
        throw new Error(`batchSize must be a whole number from ${batchSizeFloor} to ${batchSizeCeiling}, got ${n}`);
    },
  });
  setHandler(setMigrationRate, (maxRowsPerSecond) => configure({ maxRowsPerSecond }), {
    validator: (n) => {
      if (n !== null && (!Number.isInteger(n) || n < 0))
        throw new Error(`rate must be a whole number of rows per second (0 = no limit), got ${n}`);
    },
  });
  setHandler(migrationProgress, () => progressOf(input, runId, s));

  /** Every state change is recorded by the workflow itself, so no worker crash can leave it half-made. */
  async function enter(state: MigrationState, extra: { lastError?: string; verify?: unknown } = {}): Promise<void> {
    s.state = state;
    if (extra.lastError) s.lastError = extra.lastError;
    say();
    if (indexed) upsertSearchAttributes([{ key: searchAttributes.migrationState, value: state }]);
    if (isPartition) return;
    const finished = state === 'completed' || state === 'failed' || state === 'cancelled';
    await records.recordMigrationRun(runId, { state, ...extra, finished });
  }

  const result = (): MigrationResult => ({ runId, state: s.state, rowsDone: s.rowsDone, rowsChanged: s.rowsChanged });

  try {
    if (!input.carry) {
      if (!isPartition) {
        const run = {
          migration: input.migration,
          kind,
          reverses: input.reverseOf,
          dryRun: !!input.dryRun,
          params: { ...input },
        } as const;
        s.estimatedTotal = (await records.startMigrationRun(runId, run)).estimatedTotal;
      }
      await enter('running');
    }
    if ((input.partitions ?? 1) > 1 && !isPartition && !input.reverseOf) {
      const outcome = await runPartitions(input, runId, s, children);
      s.rowsDone = outcome.rowsDone;
      s.rowsChanged = outcome.rowsChanged;
      if (outcome.cancelled) {
        await enter('cancelled');
        return result();
      }
    } else {
      const stopped = await runBatches();
      if (stopped === 'cancelled') return result();
    }
    if (isPartition || input.dryRun) {
      await enter('completed');
      return result();
    }
    await enter('verifying');
    const verify = await verifier.verifyDataMigration(input.migration, input.reverseOf);
    if (!verify.ok) {
      s.lastError = `verify found ${verify.invalidRows} rows not migrated (e.g. keys ${verify.sampleKeys.join(', ')})`;
      await enter('failed', { lastError: s.lastError, verify });
      throw ApplicationFailure.nonRetryable(s.lastError, 'VerifyFailed', verify);
    }
    await enter('completed', { verify });
    return { ...result(), verify };
  } catch (err) {
    // continueAsNew ends this run by throwing: the migration goes on in the next run, it did not fail.
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => enter('cancelled'));
    } else if (s.state !== 'failed') {
      s.lastError = failureMessage(err);
      await enter('failed', { lastError: s.lastError });
    }
    throw err;
  }

  /** The batch loop of one key range; returns 'cancelled' when a cancel request stopped it. */
  async function runBatches(): Promise<'done' | 'cancelled'> {
    const batchesPerRun = input.batchesPerRun ?? defaultBatchesPerRun;
    let batchesThisRun = 0;
    for (;;) {
      if (s.cancelRequested) {
        await enter('cancelled');
        return 'cancelled';
      }
      if (s.pauseRequested) {
        await enter('paused');
        await condition(() => !s.pauseRequested || s.cancelRequested);
        if (s.cancelRequested) continue;
        await enter('running');
      }
      if (batchesThisRun >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        s.continuedRuns++;
        await continueAsNew<typeof batchMigration>({ ...input, carry: s });
      }
      const started = Date.now();
      const r = input.reverseOf
        ? await db.reverseMigrationBatch({
            runId,
            migration: input.migration,
            sourceRunId: input.reverseOf,
            seq: s.seq,
            after: s.cursor,
          })
        : await db.applyMigrationBatch({
            runId,
            migration: input.migration,
            partition: input.partition?.index ?? 0,
            seq: s.seq,
            after: s.cursor,
            upTo: input.partition?.upTo,
            batchSize: s.batchSize,
            dryRun: !!input.dryRun,
            trackCursor: !isPartition,
          });
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
      if (s.adaptive && input.targetBatchMs) s.batchSize = nextBatchSize(s.batchSize, r.ms, input.targetBatchMs);
      // The rate's wait is owed up and paid once it is worth a timer: the server fires timers
      // with about a second's granularity, so many 2 ms waits would each cost a second.
      s.rateDebtMs = (s.rateDebtMs ?? 0) + rateDelayMs(r.rows, r.ms, s.maxRowsPerSecond ?? undefined);
      let delay = s.rateDebtMs >= minWaitMs ? s.rateDebtMs : 0;
      if (delay > 0) s.rateDebtMs = 0;
      if (overloaded(r.load, limits)) {
        s.overloads++;
        s.batchSize = Math.max(batchSizeFloor, Math.floor(s.batchSize / 2));
        delay = Math.max(delay, overloadDelayMs(s.overloads));
        log.warn('database under load: throttling', { ...r.load, batchSize: s.batchSize, delayMs: delay });
      } else {
        s.overloads = 0;
      }
      say(s.overloads > 0 ? { throttledUntil: Date.now() + delay, load: r.load } : undefined);
      if (delay > 0) {
        s.throttledMs += delay;
        throttleWaits(metricMeter, input.migration)(delay);
        // A pause or cancel cuts the wait short; the rate still holds because the next batch waits again.
        await condition(() => s.pauseRequested || s.cancelRequested, delay);
      }
      s.activeMs += Date.now() - started;
    }
  }
}
