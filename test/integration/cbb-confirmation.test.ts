import { MockActivityEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createCbbActivities } from '../../activities/cbb';
import { claimConfirmation, getOrder } from '../../store/cbb/orders';
import { cbbSyncWorkflowId } from '../../lib/cbb/contract';
import { cbbSyncOrder } from '../../workflows/cbb-sync';
import { cbbAdmin, createOrder } from '../helpers/cbb';
import { recordHistory } from '../helpers/histories';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

/** The WhatsApp confirmation guard against real Postgres and the local CBB server. */
let stack: StackHandles;
let cbb: ReturnType<typeof cbbAdmin>;
beforeAll(async () => {
  stack = await connectStack();
  cbb = cbbAdmin(stack.config.cbb.baseUrl);
});
afterAll(() => stack?.close());
beforeEach(() => cbb.reset());

async function runSync(orderId: string, activities: Record<string, unknown> = {}) {
  const taskQueue = uniqueTaskQueue('it-cbb-confirm');
  const worker: Worker = await stackWorker(stack, { taskQueue, activities });
  const handle = await stack.client.workflow.start(cbbSyncOrder, {
    taskQueue,
    workflowId: `${cbbSyncWorkflowId(orderId)}-${taskQueue}`,
    args: [{ orderId }],
  });
  return { handle, result: await worker.runUntil(handle.result()) };
}

test('a send retried after CBB sent it (the answer was lost) is not sent again', async () => {
  const orderId = await createOrder(stack.pool);
  const real = createCbbActivities(stack.deps).sendOrderConfirmation;
  let attempts = 0;
  const { handle, result } = await runSync(orderId, {
    async sendOrderConfirmation(...args: Parameters<typeof real>) {
      const outcome = await real(...args);
      if (++attempts === 1) throw new Error('worker lost the answer after the send');
      return outcome;
    },
  });
  expect(attempts).toBe(2);
  expect(result).toMatchObject({ status: 'confirmed', confirmation: 'already-sent' });
  expect(await cbb.messages()).toHaveLength(1);
  expect((await getOrder(stack.pool, orderId))?.whatsappStatus).toBe('sent');
  await recordHistory(handle, 'send-retried');
});

test('a send that CBB refused releases its claim, so the retry sends it once', async () => {
  const orderId = await createOrder(stack.pool);
  const { sendOrderConfirmation, upsertCbbContact } = createCbbActivities(stack.deps);
  const env = new MockActivityEnvironment();
  const order = await getOrder(stack.pool, orderId);
  const { contactId } = (await env.run(upsertCbbContact, orderId, {
    phone: order!.phone!,
    firstName: 'Dana',
    lastName: 'Levi',
    fields: [],
  })) as { contactId: string };
  await cbb.faults({ errorRate: 1 });
  await expect(env.run(sendOrderConfirmation, orderId, contactId, order!.externalId, 'Dana')).rejects.toMatchObject({
    type: 'Upstream',
  });
  const claims = await stack.pool.query('SELECT * FROM cbb_confirmations WHERE order_id = $1', [orderId]);
  expect(claims.rowCount).toBe(0);
  await cbb.faults({ errorRate: 0 });
  expect(await env.run(sendOrderConfirmation, orderId, contactId, order!.externalId, 'Dana')).toBe('sent');
  expect(await env.run(sendOrderConfirmation, orderId, contactId, order!.externalId, 'Dana')).toBe('already-sent');
  expect(await cbb.messages()).toHaveLength(1);
});

test('a claim left by an attempt that died mid-send is not sent again: it becomes unconfirmed', async () => {
  const orderId = await createOrder(stack.pool);
  const { sendOrderConfirmation, upsertCbbContact } = createCbbActivities(stack.deps);
  const env = new MockActivityEnvironment();
  const order = await getOrder(stack.pool, orderId);
  const { contactId } = (await env.run(upsertCbbContact, orderId, {
    phone: order!.phone!,
    firstName: 'Dana',
    lastName: 'Levi',
    fields: [],
  })) as { contactId: string };
  await claimConfirmation(stack.pool, orderId, contactId, 'a-worker-that-was-killed');
  expect(await env.run(sendOrderConfirmation, orderId, contactId, order!.externalId, 'Dana')).toBe('unconfirmed');
  expect(await cbb.messages()).toHaveLength(0);
  expect(await getOrder(stack.pool, orderId)).toMatchObject({
    whatsappStatus: 'unconfirmed',
    whatsappReason: expect.stringContaining('a-worker-that-was-killed'),
  });
});

test('a send whose answer never comes (timeout) is not repeated', async () => {
  const orderId = await createOrder(stack.pool);
  const deps = { ...stack.deps, config: { ...stack.deps.config, cbb: { ...stack.deps.config.cbb, timeoutMs: 300 } } };
  const { sendOrderConfirmation, upsertCbbContact } = createCbbActivities(deps);
  const env = new MockActivityEnvironment();
  const order = await getOrder(stack.pool, orderId);
  const { contactId } = (await env.run(upsertCbbContact, orderId, {
    phone: order!.phone!,
    firstName: 'Dana',
    lastName: 'Levi',
    fields: [],
  })) as { contactId: string };
  await cbb.faults({ timeoutRate: 1 });
  expect(await env.run(sendOrderConfirmation, orderId, contactId, order!.externalId, 'Dana')).toBe('unconfirmed');
  await cbb.faults({ timeoutRate: 0 });
  expect(await env.run(sendOrderConfirmation, orderId, contactId, order!.externalId, 'Dana')).toBe('unconfirmed');
  expect((await cbb.requests()).filter((r) => r.route.endsWith('send_content'))).toHaveLength(1);
});
