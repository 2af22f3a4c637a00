import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import {
  batchMigrationWorkflowType,
  cancelMigration,
  migrationProgress,
  pauseMigration,
  resumeMigration,
  setMigrationBatchSize,
  setMigrationRate,
  type BatchMigrationWorkflow,
  type MigrationProgress,
} from '../../lib/batch-migration/contract';
import { searchAttributes } from '../../lib/search-attributes';
import { getRun } from '../../store/batch-migration/runs';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { startRun } from '../../store/batch-migration/start';
import { migrationTestFile } from '../helpers/batch-migration-stack';
import { holdRows } from '../helpers/gate';
import { recordHistory, recordRunChain } from '../helpers/histories';
import { stackWorker } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

/**
 * Pause, resume, settings and cancel sent to runs on the real dev server and Postgres,
 * each step taken once a row gate (test/helpers/gate.ts) holds the run where the test
 * wants it, never by racing the run's rate. Both tests record their histories for replay.
 */
const file = migrationTestFile();
const { taskQueue, stateOf } = file;

test('pause, settings, resume and cancel sent to a partitioned run reach every partition (recorded for replay)', async () => {
  await seedTrades(file.stack.pool, 20_000);
  // Partition 0 holds ids 1..10000, partition 1 ids 10001..20000.
  let gates = [
    await holdRows(file.stack.pool, 'trades', 2001, 2500),
    await holdRows(file.stack.pool, 'trades', 12_001, 12_500),
  ];
  const worker = await stackWorker(file.stack, { taskQueue });
  try {
    await worker.runUntil(async () => {
      const run = await startRun(file.ctx, 'trades-risk-score', { batchSize: 500, dryRun: false, partitions: 2 });
      const parent = file.stack.client.workflow.getHandle<BatchMigrationWorkflow>(run.id);
      const children = [0, 1].map((i) =>
        file.stack.client.workflow.getHandle<BatchMigrationWorkflow>(`${run.id}-p${i}`),
      );
      const progress = () => Promise.all(children.map((c) => c.query(migrationProgress)));
      const everyChild = (what: string, holds: (p: MigrationProgress) => boolean) =>
        waitUntil(`every partition ${what}`, async () => (await progress()).every(holds));
      for (const gate of gates) await gate.reached('a partition');

      await parent.signal(pauseMigration);
      await everyChild('to have the pause request', (p) => p.pauseRequested);
      expect(await parent.executeUpdate(setMigrationBatchSize, { args: [700] })).toMatchObject({
        batchSize: 700,
        adaptive: false,
      });
      expect(await parent.executeUpdate(setMigrationRate, { args: [20_000] })).toMatchObject({
        maxRowsPerSecond: 20_000,
      });
      // The rate is shared out evenly.
      await everyChild('to take the new settings', (p) => p.batchSize === 700 && p.maxRowsPerSecond === 10_000);
      for (const gate of gates) await gate.release();
      await everyChild('to be paused', (p) => p.state === 'paused');

      gates = [
        await holdRows(file.stack.pool, 'trades', 7001, 7700),
        await holdRows(file.stack.pool, 'trades', 17_001, 17_700),
      ];
      await parent.signal(resumeMigration);
      for (const gate of gates) await gate.reached('a resumed partition');
      expect((await progress()).map((p) => p.state)).toEqual(['running', 'running']);

      await parent.signal(cancelMigration);
      await everyChild('to have the cancel request', (p) => p.cancelRequested);
      for (const gate of gates) await gate.release();
      const result = await parent.result();
      expect(result.state).toBe('cancelled');
      expect(result.rowsDone).toBeLessThan(20_000);
      expect((await Promise.all(children.map((c) => c.result()))).map((r) => r.state)).toEqual([
        'cancelled',
        'cancelled',
      ]);
      expect(await getRun(file.stack.pool, run.id)).toMatchObject({ state: 'cancelled', batchSize: 700 });
      await recordHistory(parent, 'partitioned-parent');
      await recordHistory(children[0], 'partitioned-child');
    });
  } finally {
    for (const gate of gates) await gate.release();
  }
}, 120_000);

test('pause, resume, a new batch size, a rate timer, continue-as-new and cancel on the real server (recorded for replay)', async () => {
  await seedTrades(file.stack.pool, 20_000);
  const id = 'migration-trades-risk-score-900';
  const worker: Worker = await stackWorker(file.stack, { taskQueue });
  // The third batch (rows 1001..1500) waits here until the pause has been sent.
  let gate = await holdRows(file.stack.pool, 'trades', 1001, 1500);
  try {
    await worker.runUntil(async () => {
      const handle: WorkflowHandleWithFirstExecutionRunId<BatchMigrationWorkflow> =
        await file.stack.client.workflow.start<BatchMigrationWorkflow>(batchMigrationWorkflowType, {
          taskQueue,
          workflowId: id,
          // 5,000 rows/s owes about 100 ms after each batch of 500: paid in timers of 250 ms or more.
          args: [{ migration: 'trades-risk-score', batchSize: 500, maxRowsPerSecond: 5000, batchesPerRun: 4 }],
          typedSearchAttributes: [{ key: searchAttributes.migrationName, value: 'trades-risk-score' }],
        });
      await gate.reached('the third batch');
      await handle.signal(pauseMigration);
      await gate.release();
      await waitUntil('the run to be paused', async () => (await stateOf(id)) === 'paused');
      expect(await handle.query(migrationProgress)).toMatchObject({
        state: 'paused',
        pauseRequested: true,
        batches: 3,
        rowsDone: 1500,
      });

      // Rows 15001..16000 hold the run before its end, so the cancel below cannot come too late.
      gate = await holdRows(file.stack.pool, 'trades', 15_001, 16_000);
      await handle.signal(resumeMigration);
      await waitUntil('the run to be running again', async () => (await stateOf(id)) === 'running');
      expect(await handle.executeUpdate(setMigrationBatchSize, { args: [1000] })).toMatchObject({
        batchSize: 1000,
        adaptive: false,
      });
      await gate.reached('the run');
      const progress = await handle.query(migrationProgress);
      expect(progress.continuedRuns).toBeGreaterThanOrEqual(1);
      expect(progress.throttledMs).toBeGreaterThan(0);
      await handle.signal(cancelMigration);
      await gate.release();
      const result = await handle.result();
      expect(result.state).toBe('cancelled');
      expect(result.rowsDone).toBeLessThan(20_000);
      const record = await getRun(file.stack.pool, id);
      expect(record).toMatchObject({ state: 'cancelled', rowsDone: result.rowsDone, batchSize: 1000 });
      expect(await recordRunChain(file.stack.client, handle, 'controls')).toBe(progress.continuedRuns + 1);
    });
  } finally {
    await gate.release();
  }
}, 120_000);
