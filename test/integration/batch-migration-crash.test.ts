import { getRun } from '../../store/batch-migration/runs';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { startRun } from '../../store/batch-migration/start';
import { isAlive, killProcess } from '../../scripts/stack/proc';
import { stackSettings } from '../../scripts/stack/parts';
import { startWorkerProcess, stopAppProcesses } from '../helpers/app-parts';
import { batchCoverage, everyRowOnce, rowsToChange } from '../../store/batch-migration/coverage';
import { backendsGone, holdRows, type RowGate } from '../helpers/gate';
import { connectStack, type StackHandles } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

/**
 * A worker process (the built one, as in production) is killed with SIGKILL in the
 * middle of a batch and started again: the batch in flight must roll back, and the run
 * must finish, verify, and show every row migrated exactly once.
 */
const s = stackSettings('test');
let stack: StackHandles;
let gate: RowGate | undefined;
beforeAll(async () => {
  stack = await connectStack();
}, 60_000);
afterAll(async () => {
  await gate?.release();
  await stopAppProcesses('worker');
  await stack?.close();
});

async function batchesOf(runId: string) {
  const { rows } = await stack.pool.query(
    'SELECT count(*)::int AS n, count(DISTINCT seq)::int AS seqs, coalesce(max(seq), -1)::int AS last FROM migration_batches WHERE run_id = $1',
    [runId],
  );
  return rows[0] as { n: number; seqs: number; last: number };
}

test('a worker SIGKILLed mid-batch: the batch rolls back, and after a restart the run completes with every row migrated once', async () => {
  await seedTrades(stack.pool, 100_000);
  const expected = await rowsToChange(stack.pool);
  // The run stops on these rows, half way, until the worker has been killed.
  gate = await holdRows(stack.pool, 'trades', 50_001, 52_000);
  await startWorkerProcess(stack.client);
  const run = await startRun(
    { client: stack.client, pool: stack.pool, taskQueue: stack.config.temporal.taskQueue },
    'trades-risk-score',
    { batchSize: 2000, dryRun: false, partitions: 1 },
  );
  const blocked = await gate.reached("the worker's batch");
  const atKill = await batchesOf(run.id);
  expect(atKill.n).toBeGreaterThan(0);

  const pid = killProcess(s, 'worker');
  expect(pid).toBeDefined();
  await waitUntil('the killed worker to be gone', () => !isAlive(pid!));
  // The dead worker's transaction still waits on the rows; once let through it finds its
  // client gone and rolls back, leaving no record of the batch.
  await gate.release();
  await waitUntil("the killed worker's database sessions to end", () => backendsGone(stack.pool, blocked));
  expect(await batchesOf(run.id)).toEqual(atKill);

  await startWorkerProcess(stack.client);
  const result = await stack.client.workflow.getHandle(run.id).result();
  expect(result).toMatchObject({ state: 'completed', rowsDone: 100_000, rowsChanged: expected, verify: { ok: true } });
  const coverage = await batchCoverage(stack.pool, run.id);
  expect(coverage).toMatchObject(everyRowOnce(100_000, expected));
  // However many batches the run took (it halves them when Postgres is busy), each sequence number is recorded once.
  const after = await batchesOf(run.id);
  expect(after).toEqual({ n: coverage.batches, seqs: coverage.batches, last: coverage.batches - 1 });
  expect(await getRun(stack.pool, run.id)).toMatchObject({
    state: 'completed',
    rowsDone: 100_000,
    rowsChanged: expected,
    batches: coverage.batches,
  });
}, 180_000);
