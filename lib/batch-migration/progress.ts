import { etaSeconds, rowsPerSecond } from './batching';
import type { BatchMigrationInput, CarriedState, MigrationProgress } from './contract';

/** A run's state before its first batch; continue-as-new carries it on from there. */
export function initialState(input: BatchMigrationInput): CarriedState {
  return {
    state: 'starting',
    seq: 0,
    cursor: input.partition?.after,
    rowsDone: 0,
    rowsChanged: 0,
    batchSize: input.batchSize,
    maxRowsPerSecond: input.maxRowsPerSecond ?? null,
    adaptive: input.targetBatchMs !== undefined,
    pauseRequested: false,
    cancelRequested: false,
    activeMs: 0,
    throttledMs: 0,
    overloads: 0,
    continuedRuns: 0,
  };
}

/** What the `progress` query answers, from the run's carried state. */
export function progressOf(input: BatchMigrationInput, runId: string, s: CarriedState): MigrationProgress {
  const rate = rowsPerSecond(s.rowsDone, s.activeMs);
  return {
    runId,
    migration: input.migration,
    kind: input.reverseOf ? 'reverse' : 'forward',
    dryRun: !!input.dryRun,
    state: s.state,
    pauseRequested: s.pauseRequested,
    cancelRequested: s.cancelRequested,
    rowsDone: s.rowsDone,
    rowsChanged: s.rowsChanged,
    estimatedTotal: s.estimatedTotal ?? null,
    rowsPerSecond: rate,
    etaSeconds: etaSeconds(s.estimatedTotal, s.rowsDone, rate),
    cursor: s.cursor ?? null,
    batchSize: s.batchSize,
    maxRowsPerSecond: s.maxRowsPerSecond,
    adaptive: s.adaptive,
    batches: s.seq,
    lastBatchMs: s.lastBatchMs ?? null,
    throttledMs: s.throttledMs,
    lastError: s.lastError ?? null,
    continuedRuns: s.continuedRuns,
    partitions: input.partitions ?? 1,
  };
}
