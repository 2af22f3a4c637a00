import {
  cancelMigration,
  migrationProgress,
  pauseMigration,
  resumeMigration,
  setMigrationBatchSize,
} from '../../lib/batch-migration/contract';
import { getRun } from '../../store/batch-migration/runs';
import { seedTrades, tradesFingerprint } from '../../store/batch-migration/seed-trades';
import { startReverse, startRun, type StartContext } from '../../store/batch-migration/start';
import { searchAttributes } from '../../lib/search-attributes';
import { sleep } from '../../scripts/stack/proc';
import { batchMigration } from '../../workflows/batch-migration';
import { batchCoverage, rowsToChange } from '../helpers/batch-migration';
import { recordHistory } from '../helpers/histories';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

/** 100,000 trades on the real Postgres, through the real dev server, with the real activities. */
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

test('a reverse of a run that is not finished, or of a dry run, is refused', async () => {
  const { rows } = await stack.pool.query(`SELECT id FROM migration_runs WHERE dry_run LIMIT 1`);
  await expect(startReverse(ctx, rows[0].id)).rejects.toThrow(/was a dry run/);
  await expect(startReverse(ctx, 'migration-trades-risk-score-999')).rejects.toThrow(/no migration run/);
});

test('two partitions split the key range and together migrate every row once', async () => {
  await seedTrades(stack.pool, 20_000);
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
}, 120_000);

test('pause, resume, a new batch size, continue-as-new and cancel on the real server (recorded for replay)', async () => {
  await seedTrades(stack.pool, 20_000);
  const id = 'migration-trades-risk-score-900';
  const worker = await stackWorker(stack, { taskQueue });
  await worker.runUntil(async () => {
    const handle = await stack.client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: id,
      args: [{ migration: 'trades-risk-score', batchSize: 500, maxRowsPerSecond: 5000, batchesPerRun: 4 }],
      typedSearchAttributes: [{ key: searchAttributes.migrationName, value: 'trades-risk-score' }],
    });
    const state = async () => (await getRun(stack.pool, id))?.state;
    while (((await getRun(stack.pool, id))?.batches ?? 0) < 2) await sleep(100);
    await handle.signal(pauseMigration);
    while ((await state()) !== 'paused') await sleep(100);
    await handle.signal(resumeMigration);
    expect(await handle.executeUpdate(setMigrationBatchSize, { args: [1000] })).toMatchObject({
      batchSize: 1000,
      adaptive: false,
    });
    while ((await handle.query(migrationProgress)).continuedRuns < 1) await sleep(100);
    await handle.signal(cancelMigration);
    const result = await handle.result();
    expect(result.state).toBe('cancelled');
    expect(result.rowsDone).toBeLessThan(20_000);
    const record = await getRun(stack.pool, id);
    expect(record).toMatchObject({ state: 'cancelled', rowsDone: result.rowsDone, batchSize: 1000 });
    await recordHistory(handle, 'controls');
  });
}, 120_000);
