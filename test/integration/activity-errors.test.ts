import { temporal } from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { batchMigrationWorkflowType, type BatchMigrationWorkflow } from '../../lib/batch-migration/contract';
import { cbbSyncStartOptions, cbbSyncWorkflowType, type CbbSyncWorkflow } from '../../lib/cbb/contract';
import { cbbAdmin, cbbTrafficOf, createOrder } from '../helpers/cbb';
import { getOrder } from '../../store/cbb/orders';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * Every activity's AppErrors pass through the worker's one interceptor: a permanent
 * type fails the step at its first attempt, a transient one is retried. Real
 * activities, a real worker and the real dev server.
 */
let stack: StackHandles;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
const EventType = temporal.api.enums.v1.EventType;

beforeAll(async () => {
  stack = await connectStack();
  taskQueue = uniqueTaskQueue('it-errors');
  worker = await stackWorker(stack, { taskQueue });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await stack?.close();
});

test('a permanent domain error (NotFound) fails the activity on its first attempt, though its retry policy lists no type', async () => {
  const workflowId = `${taskQueue}-unknown-migration`;
  const handle = await stack.client.workflow.start<BatchMigrationWorkflow>(batchMigrationWorkflowType, {
    taskQueue,
    workflowId,
    args: [{ migration: 'no-such-migration', batchSize: 10 }],
  });
  await expect(handle.result()).rejects.toThrow();
  const { events } = await handle.fetchHistory();
  const failed = events!.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED);
  const scheduledId = failed?.activityTaskFailedEventAttributes?.scheduledEventId;
  const scheduled = events!.find((e) => e.eventId?.toString() === scheduledId?.toString());
  expect(scheduled?.activityTaskScheduledEventAttributes?.activityType?.name).toBe('startMigrationRun');
  // The started event of a failed activity records the attempt that failed.
  const started = events!.filter(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
      e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduledId?.toString(),
  );
  expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
  const failure = failed?.activityTaskFailedEventAttributes?.failure;
  expect(failure?.applicationFailureInfo).toMatchObject({ type: 'NotFound', nonRetryable: true });
  expect(failure?.message).toMatch(/no-such-migration/);
  expect(failed?.activityTaskFailedEventAttributes?.retryState).toBe(
    temporal.api.enums.v1.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
  );
});

test('a transient domain error (CBB answering 500) is retried until it clears, and the sync then completes', async () => {
  const cbb = cbbAdmin(stack.config.cbb);
  await cbb.reset();
  await cbb.faults({ errorRate: 1 });
  try {
    const orderId = await createOrder(stack.pool);
    const phone = (await getOrder(stack.pool, orderId))?.phone;
    const options = cbbSyncStartOptions(orderId, 'api');
    const handle = await stack.client.workflow.start<CbbSyncWorkflow>(cbbSyncWorkflowType, {
      ...options,
      workflowId: `${options.workflowId}-${taskQueue}`,
      taskQueue,
      typedSearchAttributes: [],
    });
    // Two refused calls prove a retry after a transient error; then CBB recovers.
    await waitUntil(
      'two CBB calls answered 500',
      async () => (await cbbTrafficOf(cbb, [phone])).requests.filter((r) => r.status === 500).length >= 2,
    );
    await cbb.faults({ errorRate: 0 });
    await expect(handle.result()).resolves.toMatchObject({ orderId, status: 'confirmed' });
  } finally {
    await cbb.faults({ errorRate: 0 });
  }
});
