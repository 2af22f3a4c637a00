import { availableParallelism } from 'node:os';
import { autoPartitionCount } from '../../lib/batch-migration/batching';
import { cancelMigration } from '../../lib/batch-migration/contract';
import { getRun } from '../../store/batch-migration/runs';
import { seedTrades, tradesFingerprint } from '../../store/batch-migration/seed-trades';
import { startReverse, startRun } from '../../store/batch-migration/start';
import { batchCoverage, everyRowOnce, rowsToChange } from '../../store/batch-migration/coverage';
import { migrationTestFile } from '../helpers/batch-migration-stack';
import { holdRows } from '../helpers/gate';
import { recordHistory } from '../helpers/histories';
import { stackWorker } from '../helpers/stack';

/**
 * 100,000 trades on the real Postgres, through the real dev server, with the real
 * activities: dry, forward, reverse and partitioned runs to the end, and the reverses
 * that are refused. A run that the test must catch in the middle is held by a row gate
 * (test/helpers/gate.ts): a batch that reaches rows the test has locked waits until
 * the test lets it go, so no step depends on how fast the machine is.
 */
const file = migrationTestFile({ seedRows: 100_000 });
const { taskQueue, runToEnd, stateOf } = file;

test('a dry run counts what would change and changes nothing', async () => {
  const before = await tradesFingerprint(file.stack.pool);
  const expected = await rowsToChange(file.stack.pool);
  const { run, result } = await runToEnd(() =>
    startRun(file.ctx, 'trades-risk-score', { batchSize: 20_000, dryRun: true, partitions: 1 }),
  );
  expect(result).toMatchObject({ state: 'completed', rowsDone: 100_000, rowsChanged: expected });
  expect(await tradesFingerprint(file.stack.pool)).toBe(before);
  const coverage = await batchCoverage(file.stack.pool, run.id);
  expect(coverage).toMatchObject({ covered: 100_000, distinct_rows: 100_000, changed: expected, originals: 0 });
}, 120_000);

test('a forward run migrates every row exactly once and verifies; the reverse run restores the original values', async () => {
  const original = await tradesFingerprint(file.stack.pool);
  const expected = await rowsToChange(file.stack.pool);
  expect(expected).toBeGreaterThan(90_000);

  const forward = await runToEnd(() =>
    startRun(file.ctx, 'trades-risk-score', { batchSize: 2000, targetBatchMs: 300, dryRun: false, partitions: 1 }),
  );
  expect(forward.result).toMatchObject({
    state: 'completed',
    rowsDone: 100_000,
    rowsChanged: expected,
    verify: { ok: true, invalidRows: 0 },
  });
  expect(await rowsToChange(file.stack.pool)).toBe(0);
  const coverage = await batchCoverage(file.stack.pool, forward.run.id);
  expect(coverage).toMatchObject(everyRowOnce(100_000, expected));
  const record = await getRun(file.stack.pool, forward.run.id);
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

  const reverse = await runToEnd(() => startReverse(file.ctx, forward.run.id));
  expect(reverse.result).toMatchObject({
    state: 'completed',
    rowsDone: expected,
    rowsChanged: expected,
    verify: { ok: true },
  });
  expect(await tradesFingerprint(file.stack.pool)).toBe(original);
  await recordHistory(reverse.handle, 'reverse');
}, 240_000);

test('a reverse of a dry run, or of a run that does not exist, is refused', async () => {
  const { rows } = await file.stack.pool.query(`SELECT id FROM migration_runs WHERE dry_run LIMIT 1`);
  expect(rows).toHaveLength(1);
  await expect(startReverse(file.ctx, rows[0].id)).rejects.toMatchObject({
    type: 'ValidationError',
    message: expect.stringMatching(/was a dry run/),
  });
  await expect(startReverse(file.ctx, 'migration-trades-risk-score-999')).rejects.toMatchObject({
    type: 'NotFound',
    message: expect.stringMatching(/no migration run/),
  });
});

test('a reverse of a run that is still running is refused as a Conflict, and starts nothing', async () => {
  await seedTrades(file.stack.pool, 20_000);
  const gate = await holdRows(file.stack.pool, 'trades', 1001, 1500);
  const worker = await stackWorker(file.stack, { taskQueue });
  try {
    await worker.runUntil(async () => {
      const run = await startRun(file.ctx, 'trades-risk-score', { batchSize: 500, dryRun: false, partitions: 1 });
      await gate.reached('the run');
      expect(await stateOf(run.id)).toBe('running');
      const runsBefore = (await file.stack.pool.query('SELECT count(*)::int AS n FROM migration_runs')).rows[0].n;
      await expect(startReverse(file.ctx, run.id)).rejects.toMatchObject({
        type: 'Conflict',
        message: `${run.id} is running; reverse it once it has stopped (cancel it first)`,
      });
      expect((await file.stack.pool.query('SELECT count(*)::int AS n FROM migration_runs')).rows[0].n).toBe(runsBefore);
      const handle = file.stack.client.workflow.getHandle(run.id);
      await handle.signal(cancelMigration);
      await gate.release();
      expect(await handle.result()).toMatchObject({ state: 'cancelled' });
    });
  } finally {
    await gate.release();
  }
}, 120_000);

test('two partitions split the key range and together migrate every row once; the reverse restores them', async () => {
  await seedTrades(file.stack.pool, 20_000);
  const original = await tradesFingerprint(file.stack.pool);
  const expected = await rowsToChange(file.stack.pool);
  const { run, result } = await runToEnd(() =>
    startRun(file.ctx, 'trades-risk-score', { batchSize: 3000, dryRun: false, partitions: 2 }),
  );
  expect(result).toMatchObject({ state: 'completed', rowsDone: 20_000, rowsChanged: expected, verify: { ok: true } });
  const coverage = await batchCoverage(file.stack.pool, run.id);
  expect(coverage).toMatchObject({ covered: 20_000, distinct_rows: 20_000, changed: expected });
  const { rows } = await file.stack.pool.query(
    `SELECT DISTINCT partition FROM migration_batches WHERE run_id = $1 ORDER BY 1`,
    [run.id],
  );
  expect(rows.map((r) => r.partition)).toEqual([0, 1]);

  const reverse = await runToEnd(() => startReverse(file.ctx, run.id));
  expect(reverse.result).toMatchObject({ state: 'completed', rowsChanged: expected, verify: { ok: true } });
  expect(await tradesFingerprint(file.stack.pool)).toBe(original);
}, 120_000);

test('partitions auto picks the count from the database cores and load when the run starts, and records both', async () => {
  await seedTrades(file.stack.pool, 20_000);
  const { run, result } = await runToEnd(() =>
    startRun(file.ctx, 'trades-risk-score', { batchSize: 3000, dryRun: true, partitions: 'auto' }),
  );
  expect(result).toMatchObject({ state: 'completed', rowsDone: 20_000 });
  const { params } = (await getRun(file.stack.pool, run.id))!;
  // The test stack's Postgres runs on this machine, so it has this machine's cores.
  const auto = params.autoPartitions as { cores: number; load: number; local: boolean };
  expect(auto).toMatchObject({ local: true, cores: availableParallelism() });
  expect(auto.load).toBeGreaterThanOrEqual(0);
  expect(params.partitions).toBe(autoPartitionCount(auto));
  const { rows } = await file.stack.pool.query(
    `SELECT count(DISTINCT partition)::int AS n FROM migration_batches WHERE run_id = $1`,
    [run.id],
  );
  expect(rows[0].n).toBe(params.partitions);
}, 120_000);
