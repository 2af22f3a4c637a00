import { CancelledFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import type { BatchInput } from '../../activities/batch-migration';
import { validationError } from '../../lib/errors';
import { getRun } from '../../store/batch-migration/runs';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { startRun } from '../../store/batch-migration/start';
import { migrationTestFile } from '../helpers/batch-migration-stack';
import { failureOf } from '../helpers/outcome';
import { holdRows } from '../helpers/gate';
import { recordHistory } from '../helpers/histories';
import { stackWorker } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

/**
 * How a run on the real Postgres and dev server ends when it does not complete: cancelled
 * through Temporal while a batch waits on rows the test holds (test/helpers/gate.ts),
 * failed by its verify, failed by a permanent batch error.
 */
const file = migrationTestFile();
const { taskQueue, scores } = file;

test('a run cancelled through Temporal: its blocked batch statement is cancelled on the server and rolled back, and the run is recorded cancelled', async () => {
  await seedTrades(file.stack.pool, 20_000);
  const gated = await scores(1001, 1500);
  const gate = await holdRows(file.stack.pool, 'trades', 1001, 1500);
  const worker = await stackWorker(file.stack, { taskQueue });
  try {
    await worker.runUntil(async () => {
      const run = await startRun(file.ctx, 'trades-risk-score', { batchSize: 500, dryRun: false, partitions: 1 });
      await gate.reached('the third batch');
      const handle = file.stack.client.workflow.getHandle(run.id);
      await handle.cancel();
      const err = await handle.result().catch((e: unknown) => e);
      expect(failureOf(err)).toBeInstanceOf(CancelledFailure);
      // The test still holds the rows: a statement that stops waiting on them was cancelled, not finished.
      await waitUntil('the blocked batch statement to be cancelled', async () => (await gate.waiting()).length === 0);
      expect(await getRun(file.stack.pool, run.id)).toMatchObject({ state: 'cancelled', batches: 2, rowsDone: 1000 });
      expect((await getRun(file.stack.pool, run.id))?.finishedAt).not.toBeNull();
      await recordHistory(handle, 'cancelled');
    });
  } finally {
    await gate.release();
  }
  expect(await scores(1001, 1500)).toBe(gated);
}, 120_000);

test('a failed verify fails the run with the rows it found, recorded as failed', async () => {
  await seedTrades(file.stack.pool, 20_000);
  const gate = await holdRows(file.stack.pool, 'trades', 15_001, 15_500);
  const worker = await stackWorker(file.stack, { taskQueue });
  try {
    await worker.runUntil(async () => {
      const run = await startRun(file.ctx, 'trades-risk-score', { batchSize: 500, dryRun: false, partitions: 1 });
      await gate.reached('the run');
      // A writer puts back an out-of-range score into a row the run has already migrated.
      await file.stack.pool.query('UPDATE trades SET risk_score = -1 WHERE id = 7');
      await gate.release();
      const err = await file.stack.client.workflow
        .getHandle(run.id)
        .result()
        .catch((e: unknown) => e);
      expect(failureOf(err)).toMatchObject({ type: 'VerifyFailed', nonRetryable: true });
      expect(await getRun(file.stack.pool, run.id)).toMatchObject({
        state: 'failed',
        rowsDone: 20_000,
        lastError: 'verify found 1 rows not migrated (e.g. keys 7)',
        verify: { ok: false, invalidRows: 1, sampleKeys: ['7'] },
      });
    });
  } finally {
    await gate.release();
  }
}, 120_000);

test('a batch that fails with a permanent error fails the run at once, recorded as failed with the error', async () => {
  await seedTrades(file.stack.pool, 20_000);
  const real = createActivities(file.stack.deps);
  const tries: number[] = [];
  const worker = await stackWorker(file.stack, {
    taskQueue,
    activities: {
      async applyMigrationBatch(input: BatchInput) {
        if (input.seq === 1) {
          tries.push(input.seq);
          throw validationError('batch 1 refused: a value out of range');
        }
        return real.applyMigrationBatch(input);
      },
    },
  });
  await worker.runUntil(async () => {
    const run = await startRun(file.ctx, 'trades-risk-score', { batchSize: 500, dryRun: false, partitions: 1 });
    const err = await file.stack.client.workflow
      .getHandle(run.id)
      .result()
      .catch((e: unknown) => e);
    expect(failureOf(err)).toMatchObject({ cause: { type: 'ValidationError', nonRetryable: true } });
    const record = await getRun(file.stack.pool, run.id);
    expect(record).toMatchObject({ state: 'failed', batches: 1, rowsDone: 500 });
    expect(record?.lastError).toMatch(/batch 1 refused: a value out of range/);
    expect(record?.finishedAt).not.toBeNull();
  });
  expect(tries).toEqual([1]); // not retried
}, 120_000);
