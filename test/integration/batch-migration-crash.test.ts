import { getRun } from '../../store/batch-migration/runs';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { startRun } from '../../store/batch-migration/start';
import { isAlive, killProcess, sleep, stopProcess } from '../../scripts/stack/proc';
import { startAppPart } from '../../scripts/stack/parts';
import { stackSettings } from '../../scripts/stack/parts';
import { batchCoverage, rowsToChange } from '../helpers/batch-migration';
import { connectStack, type StackHandles } from '../helpers/stack';

/**
 * A worker process (the built one, as in production) is killed with SIGKILL in the
 * middle of a run and started again: the run must finish, verify, and the batch
 * records must show every row migrated exactly once.
 */
const s = stackSettings('test');
let stack: StackHandles;
beforeAll(async () => {
  stack = await connectStack();
}, 60_000);
// The worker this test restarted has the stack's default environment; stop it so that a
// later test that wants other settings (a log level, say) starts its own.
afterAll(async () => {
  await stopProcess(s, 'worker');
  await stack?.close();
});

async function batchesOf(runId: string): Promise<number> {
  const { rows } = await stack.pool.query('SELECT count(*)::int AS n FROM migration_batches WHERE run_id = $1', [
    runId,
  ]);
  return rows[0].n;
}

test('a SIGKILLed worker mid-run: the run completes after a restart and no batch is applied twice', async () => {
  await seedTrades(stack.pool, 100_000);
  const expected = await rowsToChange(stack.pool);
  await startAppPart(s, 'worker');
  // Rate-limited batches make the run last long enough (about 5 s) to be killed in the middle.
  const run = await startRun(
    { client: stack.client, pool: stack.pool, taskQueue: stack.config.temporal.taskQueue },
    'trades-risk-score',
    { batchSize: 2000, maxRowsPerSecond: 20_000, dryRun: false, partitions: 1 },
  );
  while ((await batchesOf(run.id)) < 5) await sleep(100);
  const pid = killProcess(s, 'worker');
  expect(pid).toBeDefined();
  while (isAlive(pid!)) await sleep(50);
  const atKill = await batchesOf(run.id);
  await sleep(1000);
  expect(await batchesOf(run.id)).toBe(atKill);
  expect(atKill).toBeLessThan(50);

  await startAppPart(s, 'worker');
  const result = await stack.client.workflow.getHandle(run.id).result();
  expect(result).toMatchObject({ state: 'completed', rowsDone: 100_000, rowsChanged: expected, verify: { ok: true } });
  const coverage = await batchCoverage(stack.pool, run.id);
  expect(coverage).toMatchObject({
    total: 100_000,
    covered: 100_000,
    distinct_rows: 100_000,
    changed: expected,
    originals: expected,
  });
  expect(coverage.batches).toBe(51);
  expect(await getRun(stack.pool, run.id)).toMatchObject({
    state: 'completed',
    rowsDone: 100_000,
    rowsChanged: expected,
    batches: 51,
  });
}, 180_000);
