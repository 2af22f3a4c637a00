import { type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import type { Worker } from '@temporalio/worker';
import { cbbSyncProgress, cbbSyncWorkflowId } from '../../lib/cbb/contract';
import { getOrder } from '../../store/cbb/orders';
import { cbbSyncOrder } from '../../workflows/cbb-sync';
import { cbbTrafficOf } from '../helpers/cbb';
import { cbbTestFile } from '../helpers/cbb-file';
import { recordHistory } from '../helpers/histories';
import { expectCancelled } from '../helpers/outcome';
import { currentDetails, historyEvents as events, timerStarts, type HistoryEvent as Event } from '../helpers/run-state';
import { stackWorker } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * A CBB 429's Retry-After is waited out on a durable timer in the workflow's history,
 * not by an activity sleeping in a worker: the wait survives the worker, the run's
 * current details say until when, and the step runs again when the timer fires. Real
 * dev server, Postgres and local CBB server; the worker is stopped and a new one
 * (another identity) started while the timer is pending.
 */
const file = cbbTestFile();

/**
 * The run's current details while it waits, as the Web UI shows them: the step CBB
 * refused, the time the wait ends (workflow time of the 429 plus the Retry-After, so
 * between the run's start and the timer's start plus the wait), and the wait.
 */
async function expectWaitDetails(handle: WorkflowHandle, history: Event[], seconds: number) {
  const details = await currentDetails(handle);
  const words = new RegExp(
    `^CBB answered 429 \\(rate limited\\) on finding or creating the contact: retrying at (\\S+), after its Retry-After of ${seconds} s$`,
  );
  expect(details).toMatch(words);
  const retryAt = Date.parse(words.exec(details!)![1]);
  const at = (e: Event) => tsToMs(e.eventTime);
  expect(retryAt).toBeGreaterThanOrEqual(at(history[0]) + seconds * 1000);
  expect(retryAt).toBeLessThanOrEqual(at(timerStarts(history)[0]) + seconds * 1000);
}

/** A worker of its own identity on the file's task queue, running until stopped. */
async function startWorker(taskQueue: string, identity: string) {
  const worker: Worker = await stackWorker(file.stack, { taskQueue, identity });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

async function startSync(retryAfterSeconds: number, identity: string) {
  const taskQueue = uniqueTaskQueue('it-cbb-retry-after');
  const orderId = await file.newOrder();
  const phone = (await getOrder(file.stack.pool, orderId))?.phone;
  await file.cbb.faults({ rateLimitRate: 1, retryAfterSeconds });
  const worker = await startWorker(taskQueue, identity);
  const handle = await file.stack.client.workflow.start(cbbSyncOrder, {
    taskQueue,
    workflowId: `${cbbSyncWorkflowId(orderId)}-${taskQueue}`,
    args: [{ orderId }],
  });
  let history: Event[] = [];
  await waitUntil('the sync to start a timer for the Retry-After', async () => {
    history = await events(handle);
    return timerStarts(history).length > 0;
  });
  return { taskQueue, orderId, phone, worker, handle, history };
}

test("an hour's Retry-After: a durable one-hour timer, still pending after a worker restart, ended by a cancel", async () => {
  const { taskQueue, orderId, phone, worker, handle, history } = await startSync(3600, 'retry-after-worker-1');
  const [timer] = timerStarts(history);
  expect(tsToMs(timer.timerStartedEventAttributes!.startToFireTimeout)).toBe(3_600_000);
  // The wait is the workflow's timer, not an activity task held by a worker.
  expect(history.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);

  await worker.stop();
  const next = await startWorker(taskQueue, 'retry-after-worker-2');
  try {
    // The new worker answers the queries by replaying the history: the sync is at the contact step, waiting.
    expect(await handle.query(cbbSyncProgress)).toMatchObject({ orderId, step: 'contact', status: 'syncing' });
    await expectWaitDetails(handle, history, 3600);
    const after = await events(handle);
    expect(timerStarts(after)).toHaveLength(1);
    expect(after.some((e) => e.timerFiredEventAttributes)).toBe(false);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    // CBB saw the one call that was refused, and nothing since: no retry sleeps or spins in a worker.
    const { requests } = await cbbTrafficOf(file.cbb, [phone]);
    expect(requests.map((r) => r.status)).toEqual([429]);

    await handle.cancel();
    await expectCancelled(handle);
    const final = await events(handle);
    expect(final.some((e) => e.timerCanceledEventAttributes)).toBe(true);
    const lastTask = final.filter((e) => e.workflowTaskCompletedEventAttributes).at(-1);
    expect(lastTask?.workflowTaskCompletedEventAttributes?.identity).toBe('retry-after-worker-2');
    expect((await getOrder(file.stack.pool, orderId))?.cbbSynced).toBe(false);
    await recordHistory(handle, 'retry-after-cancelled');
  } finally {
    await next.stop();
  }
}, 120_000);

test('a Retry-After of 15 s: the timer outlives the worker, and when it fires the new worker finishes the sync', async () => {
  const { taskQueue, orderId, phone, worker, handle, history } = await startSync(15, 'retry-after-worker-3');
  expect(tsToMs(timerStarts(history)[0].timerStartedEventAttributes!.startToFireTimeout)).toBe(15_000);
  await expectWaitDetails(handle, history, 15);
  // 15 s leaves the stop (well under a second) a wide margin; this says so if it ever was not enough.
  await worker.stop();
  expect((await events(handle)).some((e) => e.timerFiredEventAttributes)).toBe(false);
  await file.cbb.faults({ rateLimitRate: 0 });
  const next = await startWorker(taskQueue, 'retry-after-worker-4');
  try {
    const result = await handle.result();
    expect(result).toMatchObject({ orderId, status: 'confirmed', confirmation: 'sent' });
    const final = await events(handle);
    const fired = final.findIndex((e) => e.timerFiredEventAttributes);
    expect(fired).toBeGreaterThan(-1);
    // Every workflow task after the timer fired ran on the new worker.
    const later = final.slice(fired).filter((e) => e.workflowTaskCompletedEventAttributes);
    expect(later.length).toBeGreaterThan(0);
    expect(later.map((e) => e.workflowTaskCompletedEventAttributes?.identity)).toEqual(
      later.map(() => 'retry-after-worker-4'),
    );
    const { requests, contacts, messages } = await cbbTrafficOf(file.cbb, [phone]);
    expect(requests[0].status).toBe(429);
    expect(requests.filter((r) => r.status === 429)).toHaveLength(1);
    expect(contacts).toHaveLength(1);
    expect(messages).toHaveLength(1);
    expect(await getOrder(file.stack.pool, orderId)).toMatchObject({ cbbSynced: true, whatsappStatus: 'sent' });
    await recordHistory(handle, 'retry-after-wait');
  } finally {
    await next.stop();
  }
}, 120_000);
