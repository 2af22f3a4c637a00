import { getRun } from '../../store/batch-migration/runs';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import type { StartContext } from '../../store/batch-migration/start';
import { connectStack, stackWorker, type StackHandles } from './stack';
import { uniqueTaskQueue } from './time-skipping';

/**
 * What a batch-migration integration file sets up around its tests: the stack, a task
 * queue of the file's own, and no migration runs left by another file (`seedRows` trades
 * seeded before the first test, when given). Read the fields inside hooks and tests.
 */
export function migrationTestFile(opts: { seedRows?: number } = {}) {
  const taskQueue = uniqueTaskQueue('it-migration');
  const file = {
    stack: undefined as unknown as StackHandles,
    ctx: undefined as unknown as StartContext,
    taskQueue,
    /** Starts a run with a worker of this file's queue, and waits for its result. */
    async runToEnd(start: () => Promise<{ id: string }>) {
      const worker = await stackWorker(file.stack, { taskQueue });
      return worker.runUntil(async () => {
        const run = await start();
        const handle = file.stack.client.workflow.getHandle(run.id);
        const result = await handle.result();
        return { run, handle, result };
      });
    },
    /** The risk scores of trades from..to, as one string: equal before and after means untouched. */
    async scores(from: number, to: number) {
      const { rows } = await file.stack.pool.query(
        `SELECT string_agg(coalesce(risk_score::text, '-'), ',' ORDER BY id) AS s FROM trades
          WHERE id BETWEEN $1 AND $2`,
        [from, to],
      );
      return rows[0].s as string;
    },
    stateOf: async (id: string) => (await getRun(file.stack.pool, id))?.state,
  };
  beforeAll(async () => {
    file.stack = await connectStack();
    file.ctx = { client: file.stack.client, pool: file.stack.pool, taskQueue };
    await file.stack.pool.query('TRUNCATE migration_runs CASCADE');
    if (opts.seedRows) await seedTrades(file.stack.pool, opts.seedRows);
  }, 120_000);
  afterAll(() => file.stack?.close());
  return file;
}
