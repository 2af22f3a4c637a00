import type { Worker } from '@temporalio/worker';
import { applyCbbSweepSchedule, cbbSweepScheduleId } from '../../lib/cbb-schedule';
import { cbbSweep } from '../../workflows/cbb-sweep';
import { cbbAdmin, createOrder } from '../helpers/cbb';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

let stack: StackHandles;
beforeAll(async () => {
  stack = await connectStack();
});
afterAll(() => stack?.close());

test('the sweep syncs every pending order once, by keyset pages', async () => {
  const cbb = cbbAdmin(stack.config.cbb.baseUrl);
  await cbb.reset();
  // Orders of earlier tests may still be pending (a failed one, say): settle them first.
  await stack.pool.query("UPDATE orders SET cbb_status = 'skipped' WHERE cbb_status = 'pending'");
  const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => createOrder(stack.pool, { whatsappAlerts: i % 2 === 0 })));
  const taskQueue = uniqueTaskQueue('it-cbb-sweep');
  const worker: Worker = await stackWorker(stack, { taskQueue });
  const totals = await worker.runUntil(
    stack.client.workflow.execute(cbbSweep, { taskQueue, workflowId: `cbb-sweep-${taskQueue}`, args: [{ concurrency: 8, pageSize: 7, perRun: 14 }] }),
  );
  expect(totals).toEqual({ started: 30, joined: 0, synced: 30, notSynced: 0 });
  const { rows } = await stack.pool.query('SELECT cbb_status, count(*)::int AS n FROM orders WHERE id = ANY($1) GROUP BY 1', [ids]);
  expect(rows).toEqual([{ cbb_status: 'synced', n: 30 }]);
  expect(await cbb.contacts()).toHaveLength(30);
  expect(await cbb.messages()).toHaveLength(15);
}, 120_000);

test('the sweep schedule is applied idempotently: created once, then brought up to date', async () => {
  await stack.client.schedule.getHandle(cbbSweepScheduleId).delete().catch(() => undefined);
  const log = stack.deps.log;
  expect(await applyCbbSweepSchedule(stack.client, stack.config, log)).toBe('created');
  const faster = { ...stack.config, cbb: { ...stack.config.cbb, sweepEvery: '2m' } };
  expect(await applyCbbSweepSchedule(stack.client, faster, log)).toBe('updated');
  const d = await stack.client.schedule.getHandle(cbbSweepScheduleId).describe();
  expect(d.spec.intervals?.[0].every).toBe(120_000);
  expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'cbbSweep', workflowId: 'cbb-sweep' });
  expect(d.policies.overlap).toBe('SKIP');
  await stack.client.schedule.getHandle(cbbSweepScheduleId).delete();
});
