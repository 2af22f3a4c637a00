import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { searchAttributes } from '../search-attributes';
import type { ThrottleLimits } from './batching';

/**
 * The batchMigration workflow's input, progress and messages, shared by the workflow,
 * the API and the CLI. Wire names are short so that they are easy to send from the
 * Temporal CLI: `temporal workflow signal --name pause`, `temporal workflow update
 * execute --name setBatchSize --input 500`, `temporal workflow query --name progress`.
 */

/** Durable states only: a pause or cancel request takes effect at the next batch boundary. */
export type MigrationState = 'starting' | 'running' | 'paused' | 'verifying' | 'completed' | 'failed' | 'cancelled';

export interface BatchMigrationInput {
  migration: string;
  batchSize: number;
  maxRowsPerSecond?: number;
  /** When set, the batch size adapts so that a batch takes about this long. */
  targetBatchMs?: number;
  dryRun?: boolean;
  /** More than 1 splits the key range among child workflows. */
  partitions?: number;
  /** The forward run (its workflow id) whose changes this run restores. */
  reverseOf?: string;
  throttle?: Partial<ThrottleLimits>;
  /** Continue-as-new after this many batches, so the history stays small. */
  batchesPerRun?: number;
  /** Set by a partitioned parent for its children. */
  partition?: { runId: string; index: number; after?: string; upTo?: string };
  /** Carried across continue-as-new. */
  carry?: CarriedState;
}

export interface Settings {
  batchSize: number;
  maxRowsPerSecond: number | null;
  adaptive: boolean;
}

export interface CarriedState {
  state: MigrationState;
  seq: number;
  cursor?: string;
  rowsDone: number;
  rowsChanged: number;
  estimatedTotal?: number;
  batchSize: number;
  maxRowsPerSecond: number | null;
  adaptive: boolean;
  pauseRequested: boolean;
  cancelRequested: boolean;
  activeMs: number;
  throttledMs: number;
  /** Rate-limit wait owed but not yet slept (waits under a timer's worth are summed). */
  rateDebtMs?: number;
  overloads: number;
  lastBatchMs?: number;
  lastError?: string;
  continuedRuns: number;
}

export interface MigrationProgress {
  runId: string;
  migration: string;
  kind: 'forward' | 'reverse';
  dryRun: boolean;
  state: MigrationState;
  pauseRequested: boolean;
  cancelRequested: boolean;
  rowsDone: number;
  rowsChanged: number;
  estimatedTotal: number | null;
  rowsPerSecond: number;
  etaSeconds: number | null;
  cursor: string | null;
  batchSize: number;
  maxRowsPerSecond: number | null;
  adaptive: boolean;
  batches: number;
  lastBatchMs: number | null;
  throttledMs: number;
  lastError: string | null;
  continuedRuns: number;
  partitions: number;
}

export interface MigrationResult {
  runId: string;
  state: MigrationState;
  rowsDone: number;
  rowsChanged: number;
  verify?: { ok: boolean; invalidRows: number; sampleKeys: string[] };
}

export type BatchMigrationWorkflow = (input: BatchMigrationInput) => Promise<MigrationResult>;
export const batchMigrationWorkflowType = 'batchMigration';
/** A run's workflow id: `migration-<name>-<n>`, n counting the runs of that migration. */
export const batchMigrationWorkflowId = (migration: string, n: number) => `migration-${migration}-${n}`;

/** What the Web UI shows of a run before it says anything itself: the migration and its settings. */
function describeRun(input: BatchMigrationInput): { summary: string; details: string } {
  const what = input.reverseOf ? `Reverse of ${input.reverseOf} (${input.migration})` : `Migration ${input.migration}`;
  const part = input.partition ? `, partition ${input.partition.index} of ${input.partition.runId}` : '';
  const settings = [
    `batch size ${input.batchSize}${input.targetBatchMs ? `, adaptive to ${input.targetBatchMs} ms a batch` : ''}`,
    input.maxRowsPerSecond ? `at most ${input.maxRowsPerSecond} rows/s` : 'no rate limit',
    (input.partitions ?? 1) > 1 ? `${input.partitions} partitions` : undefined,
    input.partition
      ? `keys after ${input.partition.after ?? 'the first'} up to ${input.partition.upTo ?? 'the last'}`
      : undefined,
  ].filter(Boolean);
  return {
    summary: `${what}${input.dryRun ? ' (dry run)' : ''}${part}`,
    details: `${settings.join('; ')}. Signals: pause, resume, cancel; updates: setBatchSize, setRate; query: progress.`,
  };
}

/**
 * How a run is started, by the API, the CLI or a partitioned parent: its id, the search
 * attributes the list filters on (MigrationState kept current by the run itself), and
 * the summary that names the migration in the Web UI's list.
 */
export function batchMigrationStartOptions(workflowId: string, input: BatchMigrationInput) {
  const { summary, details } = describeRun(input);
  return {
    workflowId,
    args: [input] as [BatchMigrationInput],
    typedSearchAttributes: [
      { key: searchAttributes.migrationName, value: input.migration },
      { key: searchAttributes.migrationState, value: 'starting' },
    ] as SearchAttributePair[],
    staticSummary: summary,
    staticDetails: details,
  };
}

export const pauseMigration = defineSignal('pause');
export const resumeMigration = defineSignal('resume');
/** Stops at the next batch boundary; the run ends as `cancelled`, never stuck on the way. */
export const cancelMigration = defineSignal('cancel');
/** How a partitioned parent passes new settings to its children (updates cannot be sent from a workflow). */
export const configureMigration = defineSignal<[{ batchSize?: number; maxRowsPerSecond?: number | null }]>('configure');
/** Fixes the batch size (turning adaptation off); returns the settings now in force. */
export const setMigrationBatchSize = defineUpdate<Settings, [number]>('setBatchSize');
/** Rows per second at most; null or 0 lifts the limit. */
export const setMigrationRate = defineUpdate<Settings, [number | null]>('setRate');
export const migrationProgress = defineQuery<MigrationProgress>('progress');
