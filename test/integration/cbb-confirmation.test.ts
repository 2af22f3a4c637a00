import { MockActivityEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createCbbActivities } from '../../activities/cbb';
import { claimConfirmation, getOrder } from '../../store/cbb/orders';
import { cbbSyncWorkflowId } from '../../lib/cbb/contract';
import { cbbSyncOrder } from '../../workflows/cbb-sync';
import { cbbTrafficOf } from '../helpers/cbb';
import { cbbTestFile } from '../helpers/cbb-file';
import { recordHistory } from '../helpers/histories';
import { testSdkLogger } from '../helpers/sdk-logger';
import { stackWorker } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

/** The WhatsApp confirmation guard against real Postgres and the local CBB server. */
const file = cbbTestFile();

const activityEnv = () => new MockActivityEnvironment(undefined, { logger: testSdkLogger() });

/** An order of this file with its CBB contact, made by the real activity with the configured timeout. */
async function orderWithContact() {
  const orderId = await file.newOrder();
  const order = (await getOrder(file.stack.pool, orderId))!;
  const { upsertCbbContact } = createCbbActivities(file.stack.deps);
  const { contactId } = (await activityEnv().run(upsertCbbContact, orderId, {
    phone: order.phone!,
    firstName: 'Dana',
    lastName: 'Levi',
    fields: [],
  })) as { contactId: string };
  return { orderId, order, contactId };
}

async function runSync(orderId: string, activities: Record<string, unknown> = {}) {
  const taskQueue = uniqueTaskQueue('it-cbb-confirm');
  const worker: Worker = await stackWorker(file.stack, { taskQueue, activities });
  const handle = await file.stack.client.workflow.start(cbbSyncOrder, {
    taskQueue,
    workflowId: `${cbbSyncWorkflowId(orderId)}-${taskQueue}`,
    args: [{ orderId }],
  });
  return { handle, result: await worker.runUntil(handle.result()) };
}

test('a send retried after CBB sent it (the answer was lost) is not sent again', async () => {
  const orderId = await file.newOrder();
  const real = createCbbActivities(file.stack.deps).sendOrderConfirmation;
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
  const order = await getOrder(file.stack.pool, orderId);
  expect((await cbbTrafficOf(file.cbb, [order?.phone])).messages).toHaveLength(1);
  expect(order?.whatsappStatus).toBe('sent');
  await recordHistory(handle, 'send-retried');
});

test('a send that CBB refused releases its claim, so the retry sends it once', async () => {
  const { orderId, order, contactId } = await orderWithContact();
  const { sendOrderConfirmation } = createCbbActivities(file.stack.deps);
  const env = activityEnv();
  await file.cbb.faults({ errorRate: 1 });
  await expect(env.run(sendOrderConfirmation, orderId, contactId, order.externalId, 'Dana')).rejects.toMatchObject({
    type: 'Upstream',
  });
  const claims = await file.stack.pool.query('SELECT * FROM cbb_confirmations WHERE order_id = $1', [orderId]);
  expect(claims.rowCount).toBe(0);
  await file.cbb.faults({ errorRate: 0 });
  expect(await env.run(sendOrderConfirmation, orderId, contactId, order.externalId, 'Dana')).toBe('sent');
  expect(await env.run(sendOrderConfirmation, orderId, contactId, order.externalId, 'Dana')).toBe('already-sent');
  expect((await cbbTrafficOf(file.cbb, [order.phone])).messages).toHaveLength(1);
});

test('a claim left by an attempt that died mid-send is not sent again: it becomes unconfirmed', async () => {
  const { orderId, order, contactId } = await orderWithContact();
  const { sendOrderConfirmation } = createCbbActivities(file.stack.deps);
  await claimConfirmation(file.stack.pool, orderId, contactId, 'a-worker-that-was-killed');
  expect(await activityEnv().run(sendOrderConfirmation, orderId, contactId, order.externalId, 'Dana')).toBe(
    'unconfirmed',
  );
  expect((await cbbTrafficOf(file.cbb, [order.phone])).messages).toHaveLength(0);
  expect(await getOrder(file.stack.pool, orderId)).toMatchObject({
    whatsappStatus: 'unconfirmed',
    whatsappReason: expect.stringContaining('a-worker-that-was-killed'),
  });
});

test('a send whose answer never comes (timeout) is not repeated', async () => {
  const { orderId, order, contactId } = await orderWithContact();
  // Only the send under test gets the short timeout; the contact above was made with the configured one.
  const short = {
    ...file.stack.deps,
    config: { ...file.stack.deps.config, cbb: { ...file.stack.deps.config.cbb, timeoutMs: 300 } },
  };
  const { sendOrderConfirmation } = createCbbActivities(short);
  const env = activityEnv();
  await file.cbb.faults({ timeoutRate: 1 });
  expect(await env.run(sendOrderConfirmation, orderId, contactId, order.externalId, 'Dana')).toBe('unconfirmed');
  await file.cbb.faults({ timeoutRate: 0 });
  expect(await env.run(sendOrderConfirmation, orderId, contactId, order.externalId, 'Dana')).toBe('unconfirmed');
  const sends = (await cbbTrafficOf(file.cbb, [order.phone])).requests.filter((r) => r.route.endsWith('send_content'));
  expect(sends).toEqual([expect.objectContaining({ status: 0, fault: 'timeout', contactId })]);
});
