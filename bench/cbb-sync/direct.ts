import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { CbbClient } from '../../activities/cbb/client';
import { mapOrderToContact } from '../../lib/cbb/fields';
import type { Order } from '../../lib/cbb/order';

/** The calls one sync makes to CBB (find, create with fields, read back, send), with no Temporal and no Postgres. */
export async function directCalls(cbb: CbbClient, count: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = Date.now();
  const one = async (i: number) => {
    const order: Order = {
      id: String(i),
      externalId: `DIRECT-${i}`,
      branch: 'IL',
      isTest: false,
      customerName: 'Bench Customer',
      email: null,
      phone: `+97253${String(i).padStart(7, '0')}`,
      whatsappAlerts: true,
      visaCountry: 'India',
      visaType: 'tourist',
      visaQuantity: 1,
      entryDate: null,
      amount: '99',
      currency: 'ILS',
      urgency: 'standard',
      createdAt: new Date().toISOString(),
    };
    const mapped = mapOrderToContact(order);
    if (!mapped.ok) throw new Error('bench order invalid');
    const c = mapped.contact;
    const found = await cbb.findContactsByPhone(c.phone);
    const contact =
      found[0] ??
      (await cbb.createContact({
        ...c,
        fields: c.fields.map((f) => ({ name: f.name, value: f.value })),
        tags: ['visa-order'],
      }));
    const read = await cbb.getContact(contact.id);
    await Promise.all(
      c.fields.filter((f) => read.fields[f.id] !== f.value).map((f) => cbb.setCustomField(contact.id, f.id, f.value)),
    );
    await cbb.sendWhatsappTemplate(contact.id, {
      template: 'order_confirmation',
      language: 'he',
      params: { order_id: order.externalId },
    });
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return Date.now() - started;
}

let runtimeInstalled = false;

/**
 * The ceiling: workflows with no steps, started eagerly on an in-process worker the way
 * the sweep starts syncs, each awaited, `concurrency` at a time. Returns the milliseconds.
 */
export async function emptyWorkflows(address: string, count: number, concurrency: number, tag: string) {
  if (!runtimeInstalled) Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
  const connection = await NativeConnection.connect({ address });
  const taskQueue = 'bench-empty';
  try {
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: require.resolve('../workflows/empty'),
      maxConcurrentWorkflowTaskExecutions: concurrency + 50,
    });
    const client = new Client({ connection });
    return await worker.runUntil(async () => {
      let next = 0;
      const started = Date.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count) {
            const id = next++;
            const handle = await client.workflow.start('emptyWorkflow', {
              taskQueue,
              workflowId: `bench-empty-${tag}-${id}`,
              requestEagerStart: true,
            });
            await handle.result();
          }
        }),
      );
      return Date.now() - started;
    });
  } finally {
    await connection.close();
  }
}
