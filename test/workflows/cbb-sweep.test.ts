import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SweepChunk, SweepChunkResult } from '../../activities/cbb/sweep';
import { cbbSweepProgress } from '../../lib/cbb/contract';
import { cbbSweep } from '../../workflows/cbb-sweep';
import { testWorker, timeSkippingEnv, uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(() => env?.teardown());

const totals = (n: number, notSynced = 0) => ({ started: n, joined: 0, synced: n - notSynced, notSynced });

test('runs chunks of perRun orders from the cursor, continuing as new after each, and adds up the totals', async () => {
  const taskQueue = uniqueTaskQueue('cbb-sweep');
  const chunks: SweepChunk[] = [];
  // 25 pending orders, ids 1..25, swept 10 at a time; the second chunk has one failure.
  const worker = await testWorker(env, {
    taskQueue,
    activities: {
      async runCbbSyncs(chunk: SweepChunk): Promise<SweepChunkResult> {
        chunks.push(chunk);
        const from = Number(chunk.afterId);
        const to = Math.min(25, from + chunk.maxOrders);
        return { cursor: String(to), exhausted: to === 25, totals: totals(to - from, chunks.length === 2 ? 1 : 0) };
      },
    },
  });
  const handle = await env.client.workflow.start(cbbSweep, {
    taskQueue,
    workflowId: `cbb-sweep-${taskQueue}`,
    args: [{ concurrency: 3, pageSize: 4, perRun: 10 }],
  });
  const result = await worker.runUntil(handle.result());
  expect(result).toEqual({ started: 25, joined: 0, synced: 24, notSynced: 1 });
  expect(chunks).toEqual([
    { afterId: '0', maxOrders: 10, concurrency: 3, pageSize: 4 },
    { afterId: '10', maxOrders: 10, concurrency: 3, pageSize: 4 },
    { afterId: '20', maxOrders: 10, concurrency: 3, pageSize: 4 },
  ]);
  const { runId } = await handle.describe();
  expect(runId).not.toBe(handle.firstExecutionRunId); // it continued as new
});

test('the progress query shows the totals and cursor carried into the current run', async () => {
  const taskQueue = uniqueTaskQueue('cbb-sweep-progress');
  let release!: () => void;
  const blocked = new Promise<void>((r) => (release = r));
  let calls = 0;
  const worker = await testWorker(env, {
    taskQueue,
    activities: {
      async runCbbSyncs(chunk: SweepChunk): Promise<SweepChunkResult> {
        if (++calls === 2) await blocked;
        return { cursor: String(Number(chunk.afterId) + 5), exhausted: calls === 2, totals: totals(5) };
      },
    },
  });
  const handle = await env.client.workflow.start(cbbSweep, {
    taskQueue,
    workflowId: `cbb-sweep-${taskQueue}`,
    args: [{ concurrency: 2, perRun: 5 }],
  });
  await worker.runUntil(async () => {
    await waitUntil('the second chunk to start', () => calls >= 2);
    expect(await handle.query(cbbSweepProgress)).toEqual({ ...totals(5), cursor: '5' });
    release();
    expect(await handle.result()).toEqual(totals(10));
  });
});
