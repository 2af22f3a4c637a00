import { WorkflowFailedError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { BatchInput } from '../../activities/batch-migration';
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
import { validationError } from '../../lib/errors';
import { searchAttributes } from '../../lib/search-attributes';
import { getRun } from '../../store/batch-migration/runs';
import { seedTrades, tradesFingerprint } from '../../store/batch-migration/seed-trades';
import { startReverse, startRun, type StartContext } from '../../store/batch-migration/start';
import { batchCoverage, rowsToChange } from '../helpers/batch-migration';
import { holdRows } from '../helpers/gate';
import { recordHistory, recordRunChain } from '../helpers/histories';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * 100,000 trades on the real Postgres, through the real dev server, with the real
 * activities. Runs that the test must catch in the middle are held by a row gate
 * (test/helpers/gate.ts): a batch that reaches rows the test has locked waits until
 * the test lets it go, so no step depends on how fast the machine is.
 */
let stack: StackHandles;
let ctx: StartContext;
const taskQueue = uniqueTaskQueue('it-migration');
beforeAll(async () => {
  stack = await connectStack();
  ctx = { client: stack.client, pool: stack.pool, taskQueue };
  await stack.pool.query('TRUNCATE migration_runs CASCADE');
  await seedTrades(stack.pool, 100_000);
}, 120_000);
afterAll(() => stack?.close());

async function runToEnd(start: () => Promise<{ id: string }>) {
  const worker = await stackWorker(stack, { taskQueue });
  return worker.runUntil(async () => {
    const run = await start();
    const handle = stack.client.workflow.getHandle(run.id);
    const result = await handle.result();
    return { run, handle, result };
  });
}

const scores = async (from: number, to: number) =>
  (
    await stack.pool.query(
      `SELECT string_agg(coalesce(risk_score::text, '-'), ',' ORDER BY id) AS s FROM trades
                            WHERE id BETWEEN $1 AND $2`,
      [from, to],
    )
  ).rows[0].s as string;
const stateOf = async (id: string) => (await getRun(stack.pool, id))?.state;
const failureOf = (err: unknown) => (err instanceof WorkflowFailedError ? err.cause : undefined);

test('a dry run counts what would change and changes nothing', async () => {
  const before = await tradesFingerprint(stack.pool);
  const expected = await rowsToChange(stack.pool);
  const { run, result } = await runToEnd(() =>
    startRun(ctx, 'trades-risk-score', { batchSize: 20_000, dryRun: true, partitions: 1 }),
  );
  expect(result).toMatchObject({ state: 'completed', rowsDone: 100_000, rowsChanged: expected });
  expect(await tradesFingerprint(stack.pool)).toBe(before);
  const coverage = await batchCoverage(stack.pool, run.id);
  expect(coverage).toMatchObject({ covered: 100_000, distinct_rows: 100_000, changed: expected, originals: 0 });
}, 120_000);

test('a forward run migrates every row exactly once and verifies; the reverse run restores the original values', async () => {
  const original = await tradesFingerprint(stack.pool);
  const expected = await rowsToChange(stack.pool);
  expect(expected).toBeGreaterThan(90_000);

  const forward = await runToEnd(() =>
    startRun(ctx, 'trades-risk-score', { batchSize: 2000, targetBatchMs: 300, dryRun: false, partitions: 1 }),
  );
  expect(forward.result).toMatchObject({
    state: 'completed',
    rowsDone: 100_000,
    rowsChanged: expected,
    verify: { ok: true, invalidRows: 0 },
  });
  expect(await rowsToChange(stack.pool)).toBe(0);
  const coverage = await batchCoverage(stack.pool, forward.run.id);
  expect(coverage).toMatchObject({
    total: 100_000,
    covered: 100_000,
    distinct_rows: 100_000,
    changed: expected,
    originals: expected,
  });
  const record = await getRun(stack.pool, forward.run.id);
  expect(record).toMatchObject({
    state: 'completed',
    rowsDone: 100_000,
    rowsChanged: expected,
    cursor: '100000',
    batches: coverage.batches,
  });
  expect(record?.finishedAt).not.toBeNull();
  const described = await forward.handle.describe();
  expect(described.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
    expect.arrayContaining([
      ['MigrationName', 'trades-risk-score'],
      ['MigrationState', 'completed'],
    ]),
  );
  await recordHistory(forward.handle, 'forward');

  const reverse = await runToEnd(() => startReverse(ctx, forward.run.id));
  expect(reverse.result).toMatchObject({
    state: 'completed',
    rowsDone: expected,
    rowsChanged: expected,
    verify: { ok: true },
  });
  expect(await tradesFingerprint(stack.pool)).toBe(original);
  await recordHistory(reverse.handle, 'reverse');
}, 240_000);

test('a reverse of a dry run, or of a run that does not exist, is refused', async () => {
  const { rows } = await stack.pool.query(`SELECT id FROM migration_runs WHERE dry_run LIMIT 1`);
  expect(rows).toHaveLength(1);
  await expect(startReverse(ctx, rows[0].id)).rejects.toMatchObject({
    type: 'ValidationError',
    message: expect.stringMatching(/was a dry run/),
  });
  await expect(startReverse(ctx, 'migration-trades-risk-score-999')).rejects.toMatchObject({
    type: 'NotFound',
    message: expect.stringMatching(/no migration run/),
  });
});

test('a reverse of a run that is still running is refused as a Conflict, and starts nothing', async () => {
  await seedTrades(stack.pool, 20_000);
  const gate = await holdRows(stack.pool, 'trades', 1001, 1500);
  const worker = await stackWorker(stack, { taskQueue });
  try {
    await worker.runUntil(async () => {
      const run = await startRun(ctx, 'trades-risk-score', { batchSize: 500, dryRun: false, partitions: 1 });
      await gate.reached('the run');
      expect(await stateOf(run.id)).toBe('running');
      const runsBefore = (await stack.pool.query('SELECT count(*)::int AS n FROM migration_runs')).rows[0].n;
      await expect(startReverse(ctx, run.id)).rejects.toMatchObject({
        type: 'Conflict',
        message: `${run.id} is running; reverse it once it has stopped (cancel it first)`,
      });
      expect((await stack.pool.query('SELECT count(*)::int AS n FROM migration_runs')).rows[0].n).toBe(runsBefore);
      const handle = stack.client.workflow.getHandle(run.id);
      await handle.signal(cancelMigration);
      await gate.release();
      expect(await handle.result()).toMatchObject({ state: 'cancelled' });
    });
  } finally {
    await gate.release();
  }
}, 120_000);

test('a run cancelled through Temporal: its blocked batch statement is cancelled on the server and rolled back, and the run is recorded cancelled', async () => {
  await seedTrades(stack.pool, 20_000);
  const gated = await scores(1001, 1500);
  const gate = await holdRows(stack.pool, 'trades', 1001, 1500);
  const worker = await stackWorker(stack, { taskQueue });
  try {
    await worker.runUntil(async () => {
      const run = await startRun(ctx, 'trades-risk-score', { batchSize: 500, dryRun: false, partitions: 1 });
      await gate.reached('the third batch');
      const handle = stack.client.workflow.getHandle(run.id);
      await handle.cancel();
      const err = await handle.result().catch((e: unknown) => e);
      expect(failureOf(err)).toBeInstanceOf(CancelledFailure);
      // The test still holds the rows: a statement that stops waiting on them was cancelled, not finished.
      await waitUntil('the blocked batch statement to be cancelled', async () => (await gate.waiting()).length === 0);
      expect(await getRun(stack.pool, run.id)).toMatchObject({ state: 'cancelled', batches: 2, rowsDone: 1000 });
      expect((await getRun(stack.pool, run.id))?.finishedAt).not.toBeNull();
      await recordHistory(handle, 'cancelled');
    });
  } finally {
    await gate.release();
  }
  expect(await scores(1001, 1500)).toBe(gated);
}, 120_000);

test('a failed verify fails the run with the rows it found, recorded as failed', async () => {
  await seedTrades(stack.pool, 20_000);
  const gate = await holdRows(stack.pool, 'trades', 15_001, 15_500);
  const worker = await stackWorker(stack, { taskQueue });
  try {
    await worker.runUntil(async () => {
      const run = await startRun(ctx, 'trades-risk-score', { batchSize: 500, dryRun: false, partitions: 1 });
      await gate.reached('the run');
      // A writer puts back an out-of-range score into a row the run has already migrated.
      await stack.pool.query('UPDATE trades SET risk_score = -1 WHERE id = 7');
      await gate.release();
      const err = await stack.client.workflow
        .getHandle(run.id)
        .result()
        .catch((e: unknown) => e);
      expect(failureOf(err)).toMatchObject({ type: 'VerifyFailed', nonRetryable: true });
      expect(await getRun(stack.pool, run.id)).toMatchObject({
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
  await seedTrades(stack.pool, 20_000);
  const real = createActivities(stack.deps);
  const tries: number[] = [];
  const worker = await stackWorker(stack, {
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
    const run = await startRun(ctx, 'trades-risk-score', { batchSize: 500, dryRun: false, partitions: 1 });
    const err = await stack.client.workflow
      .getHandle(run.id)
      .result()
      .catch((e: unknown) => e);
    expect(failureOf(err)).toMatchObject({ cause: { type: 'ValidationError', nonRetryable: true } });
    const record = await getRun(stack.pool, run.id);
    expect(record).toMatchObject({ state: 'failed', batches: 1, rowsDone: 500 });
    expect(record?.lastError).toMatch(/batch 1 refused: a value out of range/);
    expect(record?.finishedAt).not.toBeNull();
  });
  expect(tries).toEqual([1]); // not retried
}, 120_000);

test('two partitions split the key range and together migrate every row once; the reverse restores them', async () => {
  await seedTrades(stack.pool, 20_000);
  const original = await tradesFingerprint(stack.pool);
  const expected = await rowsToChange(stack.pool);
  const { run, result } = await runToEnd(() =>
    startRun(ctx, 'trades-risk-score', { batchSize: 3000, dryRun: false, partitions: 2 }),
  );
  expect(result).toMatchObject({ state: 'completed', rowsDone: 20_000, rowsChanged: expected, verify: { ok: true } });
  const coverage = await batchCoverage(stack.pool, run.id);
  expect(coverage).toMatchObject({ covered: 20_000, distinct_rows: 20_000, changed: expected });
  const { rows } = await stack.pool.query(
    `SELECT DISTINCT partition FROM migration_batches WHERE run_id = $1 ORDER BY 1`,
    [run.id],
  );
  expect(rows.map((r) => r.partition)).toEqual([0, 1]);

  const reverse = await runToEnd(() => startReverse(ctx, run.id));
  expect(reverse.result).toMatchObject({ state: 'completed', rowsChanged: expected, verify: { ok: true } });
  expect(await tradesFingerprint(stack.pool)).toBe(original);
}, 120_000);

test('pause, settings, resume and cancel sent to a partitioned run reach every partition (recorded for replay)', async () => {
  await seedTrades(stack.pool, 20_000);
  // Partition 0 holds ids 1..10000, partition 1 ids 10001..20000.
  let gates = [await holdRows(stack.pool, 'trades', 2001, 2500), await holdRows(stack.pool, 'trades', 12_001, 12_500)];
  const worker = await stackWorker(stack, { taskQueue });
  try {
    await worker.runUntil(async () => {
      const run = await startRun(ctx, 'trades-risk-score', { batchSize: 500, dryRun: false, partitions: 2 });
      const parent = stack.client.workflow.getHandle<BatchMigrationWorkflow>(run.id);
      const children = [0, 1].map((i) => stack.client.workflow.getHandle<BatchMigrationWorkflow>(`${run.id}-p${i}`));
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

      gates = [await holdRows(stack.pool, 'trades', 7001, 7700), await holdRows(stack.pool, 'trades', 17_001, 17_700)];
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
      expect(await getRun(stack.pool, run.id)).toMatchObject({ state: 'cancelled', batchSize: 700 });
      await recordHistory(parent, 'partitioned-parent');
      await recordHistory(children[0], 'partitioned-child');
    });
  } finally {
    for (const gate of gates) await gate.release();
  }
}, 120_000);

test('pause, resume, a new batch size, a rate timer, continue-as-new and cancel on the real server (recorded for replay)', async () => {
  await seedTrades(stack.pool, 20_000);
  const id = 'migration-trades-risk-score-900';
  const worker: Worker = await stackWorker(stack, { taskQueue });
  // The third batch (rows 1001..1500) waits here until the pause has been sent.
  let gate = await holdRows(stack.pool, 'trades', 1001, 1500);
  try {
    await worker.runUntil(async () => {
      const handle: WorkflowHandleWithFirstExecutionRunId<BatchMigrationWorkflow> =
        await stack.client.workflow.start<BatchMigrationWorkflow>(batchMigrationWorkflowType, {
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
      gate = await holdRows(stack.pool, 'trades', 15_001, 16_000);
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
      const record = await getRun(stack.pool, id);
      expect(record).toMatchObject({ state: 'cancelled', rowsDone: result.rowsDone, batchSize: 1000 });
      expect(await recordRunChain(stack.client, handle, 'controls')).toBe(progress.continuedRuns + 1);
    });
  } finally {
    await gate.release();
  }
}, 120_000);
