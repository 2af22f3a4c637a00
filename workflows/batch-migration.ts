import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  isCancellation,
  proxyActivities,
} from '@temporalio/workflow';
import type { BatchMigrationActivities } from '../activities/batch-migration';
import type { BatchMigrationInput, MigrationResult } from '../lib/batch-migration/contract';
import { runPartitions } from './batch-migration-partitions';
import { MigrationRun, records } from './batch-migration-run';
import { failureMessage } from './failure';

const verifier = proxyActivities<BatchMigrationActivities>({
  startToCloseTimeout: '30m',
  retry: { maximumAttempts: 3 },
});

export async function batchMigration(input: BatchMigrationInput): Promise<MigrationResult> {
  const run = new MigrationRun(input);
  const { s, runId, isPartition } = run;
  // The controls come first: a signal buffered before the run began is delivered as its handler is set.
  run.setControls();

  try {
    if (!input.carry) {
      if (!isPartition) {
        const kind = input.reverseOf ? ('reverse' as const) : ('forward' as const);
        const start = { migration: input.migration, kind, reverses: input.reverseOf, dryRun: !!input.dryRun };
        s.estimatedTotal = (await records.startMigrationRun(runId, { ...start, params: { ...input } })).estimatedTotal;
      }
      await run.enter('running');
    }
    if ((input.partitions ?? 1) > 1 && !isPartition && !input.reverseOf) {
      const outcome = await runPartitions(input, runId, s, run.children);
      s.rowsDone = outcome.rowsDone;
      s.rowsChanged = outcome.rowsChanged;
      if (outcome.cancelled) {
        await run.enter('cancelled');
        return run.result();
      }
    } else {
      const stopped = await run.runBatches();
      if (stopped === 'cancelled') return run.result();
    }
    if (isPartition || input.dryRun) {
      await run.enter('completed');
      return run.result();
    }
    await run.enter('verifying');
    const verify = await verifier.verifyDataMigration(input.migration, input.reverseOf);
    if (!verify.ok) {
      s.lastError = `verify found ${verify.invalidRows} rows not migrated (e.g. keys ${verify.sampleKeys.join(', ')})`;
      await run.enter('failed', { lastError: s.lastError, verify });
      throw ApplicationFailure.nonRetryable(s.lastError, 'VerifyFailed', verify);
    }
    await run.enter('completed', { verify });
    return { ...run.result(), verify };
  } catch (err) {
    // continueAsNew ends this run by throwing: the migration goes on in the next run, it did not fail.
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => run.enter('cancelled'));
    } else if (s.state !== 'failed') {
      s.lastError = failureMessage(err);
      await run.enter('failed', { lastError: s.lastError });
    }
    throw err;
  }
}
