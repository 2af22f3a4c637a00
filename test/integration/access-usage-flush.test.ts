import { accessUsageFlushSchedule, type AccessUsageFlushResult } from '../../lib/access/contract';
import { createLogger } from '../../lib/infra/logger';
import { applySchedule } from '../../lib/infra/schedules';
import { createApiKey } from '../../store/access/api-keys';
import { countUse } from '../../store/access/usage';
import { recordHistory } from '../helpers/histories';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * The key-usage flush as the worker runs it: its Schedule, applied from the contract and
 * triggered, starts `accessUsageFlush`, whose activity moves the counts from Redis to the
 * key's row. The key is removed at the end: a key in the shared test database would close
 * the other tests' APIs.
 */
let stack: StackHandles;
let prefix: string;
const scheduleId = `access-usage-flush-test-${process.pid}`;

beforeAll(async () => {
  stack = await connectStack();
  const { record } = await createApiKey(stack.pool, { name: 'flush-test', scopes: ['orders:read'], tier: 'free' });
  prefix = record.prefix;
});

afterAll(async () => {
  await stack.client.schedule
    .getHandle(scheduleId)
    .delete()
    .catch(() => undefined);
  await stack.pool.query('DELETE FROM api_keys WHERE prefix = $1', [prefix]);
  await stack.close();
});

test('the Schedule starts the flush, which writes the counted uses to the key’s row', async () => {
  const taskQueue = uniqueTaskQueue('it-access-flush');
  const used = new Date();
  for (let i = 0; i < 4; i++) await countUse(stack.redis, prefix, used);
  const worker = await stackWorker(stack, { taskQueue });
  await worker.runUntil(async () => {
    await applySchedule(
      stack.client,
      { ...accessUsageFlushSchedule({ every: '1h', taskQueue }), scheduleId },
      createLogger({ log: { level: 'warn', pretty: false } }, 'test'),
    );
    const schedule = stack.client.schedule.getHandle(scheduleId);
    await schedule.trigger();
    let workflowId = '';
    await waitUntil('the triggered flush to appear among the schedule’s actions', async () => {
      const d = await schedule.describe();
      workflowId = d.info.recentActions[0]?.action.workflow.workflowId ?? '';
      return workflowId !== '';
    });
    const handle = stack.client.workflow.getHandle(workflowId);
    const result = (await handle.result()) as AccessUsageFlushResult;
    expect(result.requests).toBeGreaterThanOrEqual(4);
    await recordHistory(handle, 'flushed');
  });
  const { rows } = await stack.pool.query('SELECT usage_count, last_used_at FROM api_keys WHERE prefix = $1', [prefix]);
  expect(Number(rows[0].usage_count)).toBe(4);
  expect(Math.abs((rows[0].last_used_at as Date).getTime() - used.getTime())).toBeLessThan(1000);
});
