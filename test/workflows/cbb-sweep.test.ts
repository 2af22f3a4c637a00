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

/**
 * A run as its Schedule starts it, over an activity that finds orders at the given sweeps
 * (1-based) and nothing otherwise, or says the Schedule is paused at `pausedAt`: its result,
 * the chunks it asked for, and its current details once it ended (asked while the worker runs).
 */
async function scheduledRun(name: string, idleFor: '3m' | '4h', found: Record<number, number>, pausedAt?: number) {
  const taskQueue = uniqueTaskQueue(name);
  const chunks: SweepChunk[] = [];
  const runCbbSyncs = async (chunk: SweepChunk): Promise<SweepChunkResult> => {
    chunks.push(chunk);
    if (chunks.length === pausedAt)
      return { cursor: chunk.afterId, exhausted: true, totals: totals(0), stop: 'paused' };
    const n = found[chunks.length] ?? 0;
    return { cursor: String(Number(chunk.afterId) + n), exhausted: true, totals: totals(n) };
  };
  const worker = await testWorker(env, { taskQueue, activities: { runCbbSyncs } });
  const handle = await env.client.workflow.start(cbbSweep, {
    taskQueue,
    workflowId: `cbb-sweep-${taskQueue}`,
    args: [{ concurrency: 2, every: '1m', idleFor, schedule: 'cbb-sweep-test' }],
  });
  return worker.runUntil(async () => {
    const result = await handle.result();
    const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    const { runId } = await handle.describe();
    return { result, chunks, details: currentDetails, oneRun: runId === handle.firstExecutionRunId };
  });
}

test('a scheduled run sweeps again every interval while idle, restarts the idle clock on work, and ends after idleFor idle', async () => {
  // Work at sweeps 1 and 3; idle from sweep 4 on: 4, 5, 6 are idle minutes, and at sweep 7 3m have passed.
  const { result, chunks, details, oneRun } = await scheduledRun('cbb-sweep-idle', '3m', { 1: 2, 3: 1 });
  expect(result).toEqual(totals(3));
  expect(chunks).toHaveLength(7);
  // Every sweep starts from the first id (failed orders stay pending below any cursor) and names its Schedule.
  expect(new Set(chunks.map((c) => `${c.afterId} ${c.schedule}`))).toEqual(new Set(['0 cbb-sweep-test']));
  expect(details).toMatch(/^ended \(idle long enough: the Schedule starts the next run\); this run: 3 syncs started/);
  expect(oneRun).toBe(true); // one run for all seven sweeps, no continue-as-new
});

test('a scheduled run ends at the first sweep after its Schedule is paused, saying so', async () => {
  const { result, chunks, details } = await scheduledRun('cbb-sweep-paused', '4h', {}, 2);
  expect(result).toEqual(totals(0));
  expect(chunks).toHaveLength(2);
  expect(details).toMatch(/^ended \(the Schedule is paused\)/);
});
