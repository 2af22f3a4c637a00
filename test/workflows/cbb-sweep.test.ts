import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { searchAttributes } from '../../lib/search-attributes';
import { cbbSweep } from '../../workflows/cbb-sweep';
import { testWorker, timeSkippingEnv, uniqueTaskQueue } from '../helpers/time-skipping';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      [searchAttributes.orderId, searchAttributes.branch, searchAttributes.syncStatus].map((k) => [k.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
});
afterAll(() => env?.teardown());

test('pages through every pending order by keyset, a bounded window at a time, continuing as new', async () => {
  const taskQueue = uniqueTaskQueue('cbb-sweep');
  const pending = Array.from({ length: 25 }, (_, i) => String(i + 1));
  const pages: [string, number][] = [];
  const synced: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const worker = await testWorker(env, {
    taskQueue,
    activities: {
      async listPendingOrders(afterId: string, limit: number) {
        pages.push([afterId, limit]);
        return pending.filter((id) => Number(id) > Number(afterId)).slice(0, limit);
      },
      async loadOrderForSync(orderId: string) {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        return { action: 'skip', reason: 'test order', branch: 'IL', orderId };
      },
      async settleOrder(orderId: string) {
        synced.push(orderId);
      },
    },
  });
  const handle = await env.client.workflow.start(cbbSweep, {
    taskQueue,
    workflowId: `cbb-sweep-${taskQueue}`,
    args: [{ concurrency: 3, pageSize: 10, perRun: 10 }],
  });
  const totals = await worker.runUntil(handle.result());
  expect(totals).toEqual({ started: 25, joined: 0, synced: 25, notSynced: 0 });
  expect(synced.sort((a, b) => +a - +b)).toEqual(pending);
  expect(maxInFlight).toBeLessThanOrEqual(3);
  expect(maxInFlight).toBeGreaterThan(1);
  // Keyset: each page starts after the last id of the one before.
  expect(pages.map((p) => p[0])).toEqual(['0', '10', '20']);
  const { runId } = await handle.describe();
  expect(runId).not.toBe(handle.firstExecutionRunId); // it continued as new
});
