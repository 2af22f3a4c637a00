import {
  ParentClosePolicy,
  proxyActivities,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { BatchMigrationActivities } from '../activities/batch-migration';
import { splitKeyRange } from '../lib/batch-migration/batching';
import {
  cancelMigration,
  configureMigration,
  pauseMigration,
  resumeMigration,
  batchMigrationStartOptions,
  batchMigrationWorkflowType,
  type BatchMigrationInput,
  type BatchMigrationWorkflow,
  type CarriedState,
  type MigrationResult,
} from '../lib/batch-migration/contract';

const { migrationKeyRange } = proxyActivities<BatchMigrationActivities>({ startToCloseTimeout: '1m' });

export interface Forwarder {
  forward: (signal: 'pause' | 'resume' | 'cancel' | 'configure') => Promise<void>;
}

/**
 * Runs a migration as parallel key-range partitions: one child workflow each
 * (`<run id>-p<i>`), recording batches under the parent's run id. The parent passes
 * pause, resume, cancel and new settings on to every child; the rate limit is shared
 * out evenly.
 */
export async function runPartitions(
  input: BatchMigrationInput,
  runId: string,
  s: CarriedState,
  forwarder: Forwarder,
): Promise<{ rowsDone: number; rowsChanged: number; cancelled: boolean }> {
  const { min, max } = await migrationKeyRange(input.migration);
  if (min === undefined || max === undefined) return { rowsDone: 0, rowsChanged: 0, cancelled: false };
  const ranges = splitKeyRange(min, max, input.partitions ?? 1);
  const share = (rate: number | null) => (rate ? Math.max(1, Math.floor(rate / ranges.length)) : undefined);
  const handles: ChildWorkflowHandle<BatchMigrationWorkflow>[] = [];
  for (const [index, range] of ranges.entries()) {
    handles.push(
      await startChild<BatchMigrationWorkflow>(batchMigrationWorkflowType, {
        ...batchMigrationStartOptions(`${runId}-p${index}`, {
          ...input,
          partitions: 1,
          batchSize: s.batchSize,
          maxRowsPerSecond: share(s.maxRowsPerSecond),
          partition: { runId, index, ...range },
          carry: undefined,
        }),
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        // The parent's own: a run started without MigrationName (a test server) keeps its children without too.
        typedSearchAttributes: workflowInfo().typedSearchAttributes,
      }),
    );
  }
  forwarder.forward = async (signal) => {
    await Promise.all(
      handles.map((h) => {
        if (signal === 'pause') return h.signal(pauseMigration);
        if (signal === 'resume') return h.signal(resumeMigration);
        if (signal === 'cancel') return h.signal(cancelMigration);
        return h.signal(configureMigration, {
          batchSize: s.batchSize,
          maxRowsPerSecond: share(s.maxRowsPerSecond) ?? null,
        });
      }),
    );
  };
  // A pause or cancel that arrived while the children were starting reaches them now.
  if (s.pauseRequested) await forwarder.forward('pause');
  if (s.cancelRequested) await forwarder.forward('cancel');
  const results: MigrationResult[] = await Promise.all(handles.map((h) => h.result()));
  return {
    rowsDone: results.reduce((n, r) => n + r.rowsDone, 0),
    rowsChanged: results.reduce((n, r) => n + r.rowsChanged, 0),
    cancelled: results.some((r) => r.state === 'cancelled'),
  };
}
