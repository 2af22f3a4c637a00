import type { Worker } from '@temporalio/worker';
import { cbbSweepSchedule, cbbSyncWorkflowId } from '../../lib/cbb/contract';
import { applySchedule } from '../../lib/infra/schedules';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { createSweepActivities } from '../../activities/cbb/sweep';
import { cbbSweep } from '../../workflows/cbb-sweep';
import { cbbSyncOrder } from '../../workflows/cbb-sync';
import { cbbAdmin, cbbTrafficOf, createOrder, settleOrders } from '../helpers/cbb';
import { getOrder } from '../../store/cbb/orders';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { recordRunChain } from '../helpers/histories';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

let stack: StackHandles;
const orders: string[] = [];
beforeAll(async () => {
  stack = await connectStack();
});
afterAll(async () => {
  if (stack) await settleOrders(stack.pool, orders);
  await stack?.close();
});
const phonesOf = (ids: string[]) => Promise.all(ids.map(async (id) => (await getOrder(stack.pool, id))?.phone));

/**
 * A sweep syncs every pending order in the table, so its exact totals hold only if this
 * test's orders are the only pending ones: orders other files left pending are settled
 * first (no other file runs meanwhile: the stack project runs its files one at a time).
 */
const settleOthers = () => stack.pool.query("UPDATE orders SET cbb_status = 'skipped' WHERE cbb_status = 'pending'");

test('the sweep syncs every pending order once, at most `concurrency` at a time, in chunks that continue as new', async () => {
  const cbb = cbbAdmin(stack.config.cbb);
  await cbb.reset();
  await settleOthers();
  const ids = await Promise.all(
    Array.from({ length: 30 }, (_, i) => createOrder(stack.pool, { whatsappAlerts: i % 2 === 0 })),
  );
  orders.push(...ids);
  const taskQueue = uniqueTaskQueue('it-cbb-sweep');
  // The real loading step, counting how many syncs run it at once. The first eight wait
  // for each other: a sweep that ran its syncs one at a time would never get past them.
  const real = createActivities(stack.deps);
  const concurrency = 8;
  let running = 0;
  let most = 0;
  let barrierOpen = false;
  const worker: Worker = await stackWorker(stack, {
    taskQueue,
    activities: {
      async loadOrderForSync(orderId: string) {
        most = Math.max(most, ++running);
        try {
          if (!barrierOpen)
            await waitUntil(`${concurrency} syncs loading at once`, () => running >= concurrency || barrierOpen);
          barrierOpen = true;
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
    args: [{ concurrency, pageSize: 7, perRun: 14 }],
  });
  const totals = await worker.runUntil(handle.result());
  expect(totals).toEqual({ started: 30, joined: 0, synced: 30, notSynced: 0 });
  expect(most).toBe(concurrency);
  const { rows } = await stack.pool.query(
    'SELECT cbb_status, count(*)::int AS n FROM orders WHERE id = ANY($1) GROUP BY 1',
    [ids],
  );
  expect(rows).toEqual([{ cbb_status: 'synced', n: 30 }]);
  const { contacts, messages } = await cbbTrafficOf(cbb, await phonesOf(ids));
  expect(contacts).toHaveLength(30);
  expect(messages).toHaveLength(15);
  // 30 orders, 14 a run: three runs, each recorded for replay.
  expect(await recordRunChain(stack.client, handle, 'sweep')).toBe(3);
}, 120_000);

test('a chunk retried after a crash resumes at its checkpoint: syncs that ended are not run again, a running one is joined', async () => {
  const cbb = cbbAdmin(stack.config.cbb);
  await cbb.reset();
  await settleOthers();
  const ids = [];
  for (let i = 0; i < 8; i++) ids.push(await createOrder(stack.pool));
  orders.push(...ids);
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
  const { contacts } = await cbbTrafficOf(cbb, await phonesOf(ids));
  expect(new Set(contacts.map((c) => c.phone))).toEqual(new Set(await phonesOf(ids.slice(3)))); // orders 3-7 only
  expect(contacts).toHaveLength(5);
  expect(beats.at(-1)).toMatchObject({ cursor: ids[7] });
}, 120_000);

test('the sweep schedule is applied idempotently: created once, then brought up to date, keeping a pause', async () => {
  // A Schedule of this test's own, on a task queue no worker polls: a run it might start syncs nothing.
  const taskQueue = uniqueTaskQueue('it-cbb-schedule');
  const scheduleId = `cbb-sweep-${taskQueue}`;
  const declared = (every: string) => ({
    ...cbbSweepSchedule({ every, concurrency: 4, taskQueue }),
    scheduleId,
    workflowId: scheduleId,
  });
  const log = stack.deps.log;
  const handle = stack.client.schedule.getHandle(scheduleId);
  try {
    expect(await applySchedule(stack.client, declared('1m'), log)).toBe('created');
    await handle.pause('an operator paused it');
    expect(await applySchedule(stack.client, declared('2m'), log)).toBe('updated');
    const d = await handle.describe();
    expect(d.spec.intervals?.[0].every).toBe(120_000);
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'cbbSweep', workflowId: scheduleId });
    expect(d.policies.overlap).toBe('SKIP');
    expect(d.state.paused).toBe(true);
  } finally {
    await handle.delete();
  }
});
