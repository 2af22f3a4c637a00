import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createCbbActivities } from '../../activities/cbb';
import { cbbFieldRegistry, type CbbFieldValue } from '../../lib/cbb/fields';
import { cbbSyncWorkflowId } from '../../lib/cbb/contract';
import { getOrder, listEvents } from '../../store/cbb/orders';
import { cbbSyncOrder } from '../../workflows/cbb-sync';
import { cbbAdmin, cbbTrafficOf, createOrder, orderFixture, settleOrders } from '../helpers/cbb';
import { testSdkLogger } from '../helpers/sdk-logger';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

/** The CBB activities' failure and edge paths on the real Postgres and the local CBB server. */
let stack: StackHandles;
let worker: Worker;
let running: Promise<void>;
let cbb: ReturnType<typeof cbbAdmin>;
const taskQueue = uniqueTaskQueue('it-cbb-activities');
const orders: string[] = [];

beforeAll(async () => {
  stack = await connectStack();
  cbb = cbbAdmin(stack.config.cbb);
  await cbb.reset();
  worker = await stackWorker(stack, { taskQueue });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  if (stack) await settleOrders(stack.pool, orders);
  await stack?.close();
});

test("the stack's CBB server keeps its admin side behind the token the stack generated", async () => {
  const root = stack.config.cbb.baseUrl.replace(/\/api$/, '');
  expect(stack.config.cbb.adminToken).toMatch(/^[\w-]{20,}$/);
  for (const path of ['/_admin/contacts', '/_admin/requests']) {
    expect((await fetch(`${root}${path}`)).status).toBe(401);
    expect((await fetch(`${root}${path}`, { headers: { authorization: 'Bearer local-dev-cbb-key' } })).status).toBe(
      401,
    );
  }
  expect((await fetch(`${root}/_admin/reset`, { method: 'POST' })).status).toBe(401);
  expect(Array.isArray(await cbb.requests())).toBe(true); // the helper sends the token
});

const activityEnv = () => new MockActivityEnvironment(undefined, { logger: testSdkLogger() });
const sync = (orderId: string) =>
  stack.client.workflow.start(cbbSyncOrder, {
    taskQueue,
    workflowId: `${cbbSyncWorkflowId(orderId)}-${taskQueue}`,
    args: [{ orderId }],
  });

test('an order that does not exist: loading it is a NotFound, and its sync fails at once without touching CBB', async () => {
  const { loadOrderForSync } = createCbbActivities(stack.deps);
  const missing = '987654321';
  await expect(activityEnv().run(loadOrderForSync, missing)).rejects.toMatchObject({
    type: 'NotFound',
    message: `order ${missing} does not exist`,
  });
  const err = await (await sync(missing)).result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toMatchObject({
    type: 'InvalidOrder',
    message: `order ${missing}: order ${missing} does not exist`,
  });
}, 60_000);

test('two orders with one phone, synced at once: one CBB contact, shared, and one confirmation per order', async () => {
  const phone = orderFixture().phone;
  const ids = [await createOrder(stack.pool, { phone }), await createOrder(stack.pool, { phone })];
  orders.push(...ids);
  const handles = await Promise.all(ids.map(sync));
  const results = await Promise.all(handles.map((h) => h.result()));
  expect(results.map((r) => r.status)).toEqual(['confirmed', 'confirmed']);
  const { contacts, messages } = await cbbTrafficOf(cbb, [phone]);
  expect(contacts).toHaveLength(1);
  expect(results.map((r) => r.contactId)).toEqual([contacts[0].id, contacts[0].id]);
  const externalIds = await Promise.all(ids.map(async (id) => (await getOrder(stack.pool, id))!.externalId));
  expect(messages.map((m) => m.params.order_id).sort()).toEqual([...externalIds].sort());
  // The advisory lock on the phone let exactly one of them create the contact.
  const kinds = await Promise.all(
    ids.map(async (id) => (await listEvents(stack.pool, id)).map((e) => e.type).find((t) => t.startsWith('contact_'))),
  );
  expect(kinds.sort()).toEqual(['contact_created', 'contact_found']);
}, 60_000);

test('a field CBB refuses while another is set: a permanent error naming the field, the order not marked synced', async () => {
  const orderId = await createOrder(stack.pool, { visa: { quantity: 2 } });
  orders.push(orderId);
  const order = (await getOrder(stack.pool, orderId))!;
  const { upsertCbbContact, setCbbContactFields } = createCbbActivities(stack.deps);
  const env = activityEnv();
  const { contactId } = (await env.run(upsertCbbContact, orderId, {
    phone: order.phone!,
    firstName: 'Dana',
    lastName: 'Levi',
    fields: [],
  })) as { contactId: string };
  const fields: CbbFieldValue[] = [
    { name: 'visa_quantity', id: cbbFieldRegistry.visa_quantity.id, value: '2' },
    { name: 'order_amount', id: cbbFieldRegistry.order_amount.id, value: 'twelve' },
  ];
  await expect(env.run(setCbbContactFields, orderId, contactId, fields)).rejects.toMatchObject({
    type: 'ValidationError',
    message: expect.stringMatching(/^1 of 2 custom fields not set: order_amount \(/),
  });
  const [contact] = (await cbbTrafficOf(cbb, [order.phone])).contacts;
  const values = Object.fromEntries(contact.custom_fields.map((f) => [f.name, f.value]));
  expect(values).toMatchObject({ visa_quantity: '2' });
  expect(values.order_amount ?? null).toBeNull();
  expect(await getOrder(stack.pool, orderId)).toMatchObject({
    cbbStatus: 'pending',
    cbbSynced: false,
    cbbLastError: expect.stringContaining('order_amount'),
  });
});
