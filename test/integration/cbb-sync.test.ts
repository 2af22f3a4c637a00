import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { cbbFieldRegistry } from '../../lib/cbb/fields';
import { getOrder, listEvents } from '../../store/cbb/orders';
import { cbbSyncWorkflowId } from '../../lib/cbb/contract';
import { cbbSyncOrder } from '../../workflows/cbb-sync';
import { cbbAdmin, cbbTrafficOf, createOrder, settleOrders } from '../helpers/cbb';
import { recordHistory } from '../helpers/histories';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/** cbbSyncOrder through the real dev server, Postgres and the local CBB server over HTTP. */
let stack: StackHandles;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
let cbb: ReturnType<typeof cbbAdmin>;
const orders: string[] = [];
const newOrder = async (over: Parameters<typeof createOrder>[1] = {}): Promise<string> => {
  const id = await createOrder(stack.pool, over);
  orders.push(id);
  return id;
};
/** This file's share of what CBB received, for the given orders. */
const trafficOf = async (...orderIds: string[]) =>
  cbbTrafficOf(cbb, await Promise.all(orderIds.map(async (id) => (await getOrder(stack.pool, id))?.phone)));

beforeAll(async () => {
  stack = await connectStack();
  cbb = cbbAdmin(stack.config.cbb);
  taskQueue = uniqueTaskQueue('it-cbb');
  worker = await stackWorker(stack, { taskQueue });
  running = worker.run();
});
afterAll(async () => {
  await cbb?.faults({ errorRate: 0, rateLimitRate: 0 });
  worker?.shutdown();
  await running;
  if (stack) await settleOrders(stack.pool, orders);
  await stack?.close();
});
beforeEach(async () => {
  await cbb.reset();
});

const sync = (orderId: string) =>
  stack.client.workflow.start(cbbSyncOrder, {
    taskQueue,
    workflowId: `${cbbSyncWorkflowId(orderId)}-${taskQueue}`,
    args: [{ orderId }],
  });

test('an IL order becomes a CBB contact with every field, is marked synced and confirmed once', async () => {
  const orderId = await newOrder();
  const handle = await sync(orderId);
  const result = await handle.result();
  expect(result).toMatchObject({ status: 'confirmed', confirmation: 'sent' });

  const order = await getOrder(stack.pool, orderId);
  expect(order).toMatchObject({
    cbbStatus: 'synced',
    cbbSynced: true,
    cbbContactId: result.contactId,
    whatsappStatus: 'sent',
    cbbAttempts: 1,
    // The run recorded its steps and its end where a read finds them without Temporal.
    cbbStep: 'done',
    cbbWorkflowId: handle.workflowId,
    cbbRunId: handle.firstExecutionRunId,
  });
  const traffic = await trafficOf(orderId);
  expect(traffic.contacts).toHaveLength(1);
  const [contact] = traffic.contacts;
  const values = Object.fromEntries(contact.custom_fields.map((f) => [f.name, f.value]));
  expect(values).toMatchObject({
    order_id: order?.externalId,
    visa_quantity: '1',
    entry_date: '2026-12-24',
    order_amount: '120',
    whatsapp_alerts: '1',
  });
  expect(Object.values(values).filter((v) => v === null)).toHaveLength(0);
  expect(traffic.messages).toEqual([
    expect.objectContaining({
      contactId: contact.id,
      template: 'order_confirmation',
      params: { order_id: order?.externalId, first_name: 'Dana' },
    }),
  ]);
  expect((await listEvents(stack.pool, orderId)).map((e) => e.type)).toEqual([
    'sync_started',
    'contact_created',
    'synced',
    'confirmation_sent',
  ]);
  await recordHistory(handle, 'synced');
});

test('an existing contact is reused and its stale custom fields are updated', async () => {
  const orderId = await newOrder({ visa: { quantity: 3 } });
  const order = await getOrder(stack.pool, orderId);
  const created = await fetch(`${stack.config.cbb.baseUrl}/contacts`, {
    method: 'POST',
    headers: { 'X-ACCESS-TOKEN': stack.config.cbb.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({
      phone: order?.phone,
      first_name: 'Old',
      actions: [{ action: 'set_field_value', field_name: 'visa_quantity', value: '9' }],
    }),
  }).then((r) => r.json() as Promise<{ data: { id: string } }>);
  const handle = await sync(orderId);
  const result = await handle.result();
  expect(result.contactId).toBe(created.data.id);
  const { contacts } = await trafficOf(orderId);
  expect(contacts).toHaveLength(1);
  const quantity = contacts[0].custom_fields.find((f) => f.id === cbbFieldRegistry.visa_quantity.id);
  expect(quantity?.value).toBe('3');
  // Name is fixed at creation in CBB: the contact keeps its first name.
  expect(contacts[0].first_name).toBe('Old');
  expect((await listEvents(stack.pool, orderId)).map((e) => e.type)).toContain('contact_found');
  await recordHistory(handle, 'existing-contact');
});

test('an invalid order fails without retries, marked failed with the reason the API shows', async () => {
  const orderId = await newOrder({ phone: '12345' });
  const handle = await sync(orderId);
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(((err as WorkflowFailedError).cause as { type?: string }).type).toBe('InvalidOrder');
  const order = await getOrder(stack.pool, orderId);
  expect(order).toMatchObject({ cbbStatus: 'failed', cbbSynced: false, whatsappStatus: 'skipped' });
  expect(order?.cbbLastError).toContain('"12345" is not a valid phone number');
  // Nothing reached CBB under the order's phone, as typed or as CBB would see it.
  expect((await cbbTrafficOf(cbb, ['12345', '+97212345'])).requests).toHaveLength(0);
  await recordHistory(handle, 'invalid');
});

test('orders of other branches and test orders are skipped with their reason', async () => {
  const other = await newOrder({ branch: 'SE' });
  const testOrder = await newOrder({ isTest: true });
  await Promise.all([(await sync(other)).result(), (await sync(testOrder)).result()]);
  expect(await getOrder(stack.pool, other)).toMatchObject({
    cbbStatus: 'skipped',
    cbbLastError: 'branch SE does not sync to CBB',
  });
  expect(await getOrder(stack.pool, testOrder)).toMatchObject({ cbbStatus: 'skipped', cbbLastError: 'test order' });
  expect((await trafficOf(other, testOrder)).requests).toHaveLength(0);
});

test('with CBB failing and rate limiting, every order still ends synced and confirmed once', async () => {
  // Faults stay on until this file's orders have met both a 500 and a 429, then clear:
  // the retries are what is under test, not the odds of a random fault.
  await cbb.faults({ errorRate: 0.3, rateLimitRate: 0.3, retryAfterSeconds: 1 });
  const count = 6;
  const orderIds = await Promise.all(Array.from({ length: count }, () => newOrder()));
  const handles = await Promise.all(orderIds.map(sync));
  await waitUntil('a 500 and a 429 on these orders', async () => {
    const { requests } = await trafficOf(...orderIds);
    return requests.some((r) => r.status === 429) && requests.some((r) => r.status === 500);
  });
  await cbb.faults({ errorRate: 0, rateLimitRate: 0 });
  const results = await Promise.all(handles.map((h) => h.result()));
  expect(results.map((r) => r.status)).toEqual(Array(count).fill('confirmed'));
  const { contacts, messages } = await trafficOf(...orderIds);
  expect(contacts).toHaveLength(count);
  expect(messages).toHaveLength(count);
  await recordHistory(handles[0], 'retries');
}, 240_000);
