import type { Worker } from '@temporalio/worker';
import { cbbSweepSchedule, cbbSweepScheduleId, cbbSyncWorkflowId } from '../../lib/cbb/contract';
import { applySchedule } from '../../lib/infra/schedules';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { createSweepActivities } from '../../activities/cbb/sweep';
import { cbbSweep } from '../../workflows/cbb-sweep';
import { cbbSyncOrder } from '../../workflows/cbb-sync';
import { cbbAdmin, createOrder } from '../helpers/cbb';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

let stack: StackHandles;
beforeAll(async () => {
  stack = await connectStack();
});
afterAll(() => stack?.close());

/** Orders of earlier tests may still be pending (a failed one, say): settle them so each test sweeps its own. */
const settleOthers = () => stack.pool.query("UPDATE orders SET cbb_status = 'skipped' WHERE cbb_status = 'pending'");

test('the sweep syncs every pending order once, at most `concurrency` at a time, in chunks that continue as new', async () => {
  const cbb = cbbAdmin(stack.config.cbb.baseUrl);
  await cbb.reset();
  await settleOthers();
  const ids = await Promise.all(
    Array.from({ length: 30 }, (_, i) => createOrder(stack.pool, { whatsappAlerts: i % 2 === 0 })),
  );
  const taskQueue = uniqueTaskQueue('it-cbb-sweep');
  // The real loading step, slowed so that syncs overlap, counting how many run at once.
  const real = createActivities(stack.deps);
  let running = 0;
  let most = 0;
  const worker: Worker = await stackWorker(stack, {
    taskQueue,
    activities: {
      async loadOrderForSync(orderId: string) {
        most = Math.max(most, ++running);
        try {
          await new Promise((r) => setTimeout(r, 50));
          return await real.loadOrderForSync(orderId);
        } finally {
          running--;
        }
      },
    },
  });
  const handle = await stack.client.workflow.start(cbbSweep, {
    taskQueue,
    workflowId: `cbb-sweep-${taskQueue}`,
    args: [{ concurrency: 8, pageSize: 7, perRun: 14 }],
  });
  const totals = await worker.runUntil(handle.result());
  expect(totals).toEqual({ started: 30, joined: 0, synced: 30, notSynced: 0 });
  expect(most).toBeLessThanOrEqual(8);
  expect(most).toBeGreaterThan(1);
  const { rows } = await stack.pool.query(
    'SELECT cbb_status, count(*)::int AS n FROM orders WHERE id = ANY($1) GROUP BY 1',
    [ids],
  );
  expect(rows).toEqual([{ cbb_status: 'synced', n: 30 }]);
  expect(await cbb.contacts()).toHaveLength(30);
  expect(await cbb.messages()).toHaveLength(15);
  const { runId } = await handle.describe();
  expect(runId).not.toBe(handle.firstExecutionRunId); // 30 orders, 14 a run
}, 120_000);

test('a chunk retried after a crash resumes at its checkpoint: syncs that ended are not run again, a running one is joined', async () => {
  const cbb = cbbAdmin(stack.config.cbb.baseUrl);
  await cbb.reset();
  await settleOthers();
  const ids = [];
  for (let i = 0; i < 8; i++) ids.push(await createOrder(stack.pool));
  const taskQueue = uniqueTaskQueue('it-cbb-sweep-resume');
  // What the crashed attempt left: orders 0-2 settled (their syncs ended), order 3's sync
  // started but not yet run (no worker polls yet), the checkpoint after order 2.
  await stack.pool.query("UPDATE orders SET cbb_status = 'skipped' WHERE id = ANY($1)", [ids.slice(0, 3)]);
  await stack.client.workflow.start(cbbSyncOrder, {
    taskQueue,
    workflowId: cbbSyncWorkflowId(ids[3]),
    args: [{ orderId: ids[3] }],
  });
  const checkpoint = { cursor: ids[2], handled: 4, totals: { started: 4, joined: 0, synced: 3, notSynced: 0 } };

  const worker = await stackWorker(stack, { taskQueue });
  const activity = new MockActivityEnvironment({ taskQueue, heartbeatDetails: checkpoint, heartbeatTimeoutMs: 30_000 });
  const beats: unknown[] = [];
  activity.on('heartbeat', (d: unknown) => beats.push(d));
  const { runCbbSyncs } = createSweepActivities(stack.deps);
  const chunk = { afterId: String(Number(ids[0]) - 1), maxOrders: 100, concurrency: 4, pageSize: 3 };
  const result = await worker.runUntil(activity.run(runCbbSyncs, chunk));

  expect(result).toEqual({
    cursor: ids[7],
    exhausted: true,
    totals: { started: 8, joined: 1, synced: 8, notSynced: 0 },
  });
  const phones = new Set((await cbb.contacts()).map((c) => c.phone));
  expect(phones.size).toBe(5); // orders 3-7 only
  expect(beats.at(-1)).toMatchObject({ cursor: ids[7] });
}, 120_000);

test('the sweep schedule is applied idempotently: created once, then brought up to date', async () => {
  await stack.client.schedule
    .getHandle(cbbSweepScheduleId)
    .delete()
    .catch(() => undefined);
  const log = stack.deps.log;
  const declared = (every: string) =>
    cbbSweepSchedule({ every, concurrency: 4, taskQueue: stack.config.temporal.taskQueue });
  expect(await applySchedule(stack.client, declared('1m'), log)).toBe('created');
  expect(await applySchedule(stack.client, declared('2m'), log)).toBe('updated');
  const d = await stack.client.schedule.getHandle(cbbSweepScheduleId).describe();
  expect(d.spec.intervals?.[0].every).toBe(120_000);
  expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'cbbSweep', workflowId: 'cbb-sweep' });
  expect(d.policies.overlap).toBe('SKIP');
  await stack.client.schedule.getHandle(cbbSweepScheduleId).delete();
});
