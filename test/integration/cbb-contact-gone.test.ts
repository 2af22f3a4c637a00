import type { Worker } from '@temporalio/worker';
import { createCbbActivities } from '../../activities/cbb';
import { cbbSyncWorkflowId } from '../../lib/cbb/contract';
import { getOrder, listEvents } from '../../store/cbb/orders';
import { cbbSyncOrder } from '../../workflows/cbb-sync';
import { cbbAdmin, cbbTrafficOf, createOrder, settleOrders } from '../helpers/cbb';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

/**
 * The local CBB server forgets an order's contact between its sync and its WhatsApp send
 * (what its restart does to every contact): the send's 404 makes the workflow create the
 * contact again through the upsert and send once more, and the order ends confirmed with
 * the new contact, the only one CBB has for the phone.
 */
let stack: StackHandles;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
let cbb: ReturnType<typeof cbbAdmin>;
const orders: string[] = [];
/** The contacts CBB was made to forget, each once its fields were set, right before the send. */
const forgotten: string[] = [];

beforeAll(async () => {
  stack = await connectStack();
  cbb = cbbAdmin(stack.config.cbb);
  taskQueue = uniqueTaskQueue('it-cbb-gone');
  const real = createCbbActivities(stack.deps);
  worker = await stackWorker(stack, {
    taskQueue,
    activities: {
      async setCbbContactFields(...args: Parameters<typeof real.setCbbContactFields>) {
        const result = await real.setCbbContactFields(...args);
        // Only the first contact: the one made again must stay, or the send is refused twice.
        if (!forgotten.length) {
          forgotten.push(args[1]);
          await cbb.forgetContact(args[1]);
        }
        return result;
      },
    },
  });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  if (stack) await settleOrders(stack.pool, orders);
  await stack?.close();
});

test('a contact CBB lost before the send is made again and the order confirmed with it', async () => {
  const orderId = await createOrder(stack.pool);
  orders.push(orderId);
  const phone = (await getOrder(stack.pool, orderId))!.phone!;
  const handle = await stack.client.workflow.start(cbbSyncOrder, {
    taskQueue,
    workflowId: `${cbbSyncWorkflowId(orderId)}-${taskQueue}`,
    args: [{ orderId }],
  });
  const result = await handle.result();
  const [first] = forgotten;
  expect(result).toMatchObject({ status: 'confirmed', confirmation: 'sent' });
  expect(result.contactId).not.toBe(first);

  const order = await getOrder(stack.pool, orderId);
  // The second contact's steps are recorded too, and the run's end after them.
  expect(order).toMatchObject({ cbbContactId: result.contactId, whatsappStatus: 'sent', cbbStep: 'done' });
  const traffic = await cbbTrafficOf(cbb, [phone]);
  expect(traffic.contacts.map((c) => c.id)).toEqual([result.contactId]);
  const events = (await listEvents(stack.pool, orderId)).map((e) => e.type);
  expect(events).toEqual(expect.arrayContaining(['contact_created', 'confirmation_sent']));
  expect(events.filter((t) => t === 'contact_created')).toHaveLength(2);
});
