import { Client as PgClient } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { isAlive, killProcess, stopProcess } from '../../scripts/stack/proc';
import { loadConfig } from '../../lib/infra/config';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { startApiProcess, startWorkerProcess, stopAppProcesses } from '../helpers/app-parts';
import { cbbAdmin, cbbTrafficOf, orderFixture, settleOrders } from '../helpers/cbb';
import { apiClient, eventually } from '../helpers/http';

/** Orders through the real API and worker processes, the local CBB server and Postgres. */
const s = stackSettings('test');
const env = appEnv(s);
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
const cbb = cbbAdmin({ baseUrl: env.CBB_BASE_URL, adminToken: env.CBB_ADMIN_TOKEN });
let db: PgClient;
let connection: Connection;
let temporal: Client;
const orderIds: string[] = [];

beforeAll(async () => {
  connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  temporal = new Client({ connection });
  await startWorkerProcess(temporal);
  await startApiProcess();
  db = new PgClient({ connectionString: env.DATABASE_URL });
  await db.connect();
  await cbb.reset();
}, 120_000);
afterAll(async () => {
  await cbb.faults({ errorRate: 0, rateLimitRate: 0, latencyMs: 0 });
  await stopAppProcesses('api', 'worker');
  if (db) await settleOrders(db, orderIds);
  await db?.end();
  await connection?.close();
});

test('an order posted to the API is synced and confirmed, and found in Temporal by its OrderId', async () => {
  const input = orderFixture();
  const res = await api.post('/api/v1/orders', input);
  expect(res.status).toBe(201);
  const { order, workflow } = res.body;
  orderIds.push(order.id);
  expect(workflow.workflowId).toBe(`cbb-sync-order-${order.id}`);
  // The confirmation is recorded in Postgres a moment before the workflow task that ran it completes.
  const done = await eventually('the order to be confirmed and its sync to end', async () => {
    const got = await api.get(`/api/v1/orders/${order.id}`);
    return got.body.whatsappConfirmation?.status === 'sent' && got.body.workflow?.status !== 'RUNNING'
      ? got.body
      : undefined;
  });
  expect(done.sync).toMatchObject({ status: 'synced', synced: true, contactId: expect.any(String), attempts: 1 });
  expect(done.workflow).toMatchObject({
    status: 'COMPLETED',
    webUiUrl: expect.stringContaining(`/workflows/cbb-sync-order-${order.id}/`),
  });
  expect(done.events.map((e: { type: string }) => e.type)).toEqual([
    'sync_started',
    'contact_created',
    'synced',
    'confirmation_sent',
  ]);
  const traffic = await cbbTrafficOf(cbb, [input.phone]);
  expect(traffic.messages.filter((m) => m.params.order_id === input.externalId)).toHaveLength(1);

  const found = await eventually('the search attribute to be indexed', async () => {
    const list = [];
    for await (const wf of temporal.workflow.list({ query: `OrderId = "${order.id}"` })) list.push(wf);
    return list.length > 0 ? list : undefined;
  });
  expect(found.map((w) => w.workflowId)).toEqual([`cbb-sync-order-${order.id}`]);
  expect(found[0].typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
    expect.arrayContaining([['SyncStatus', 'confirmed']]),
  );

  // Posting the same order again changes nothing and starts nothing: no second order, no second sync.
  const sync = temporal.workflow.getHandle(`cbb-sync-order-${order.id}`);
  const { runId } = await sync.describe();
  const again = await api.post('/api/v1/orders', input);
  expect(again.status).toBe(200);
  expect(again.body.order.id).toBe(order.id);
  const { rows } = await db.query('SELECT count(*)::int AS n FROM orders WHERE external_id = $1', [input.externalId]);
  expect(rows[0].n).toBe(1);
  // The latest run of the sync's workflow id is still the first one, and CBB heard nothing more.
  expect((await sync.describe()).runId).toBe(runId);
  expect((await cbbTrafficOf(cbb, [input.phone])).requests).toEqual(traffic.requests);
  expect((await api.get(`/api/v1/orders/${order.id}`)).body.sync.attempts).toBe(1);
});

test('bad input is refused naming the field, and nothing is written', async () => {
  const input = orderFixture({ phone: '12' });
  const res = await api.post('/api/v1/orders', input);
  expect(res.status).toBe(400);
  expect(res.body.errors).toEqual([{ field: 'phone', message: '"12" is not a valid phone number' }]);
  const missing = await api.post('/api/v1/orders', { ...orderFixture(), customerName: undefined, branch: 'Israel' });
  expect(missing.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['branch', 'customerName']);
  const { rowCount } = await db.query('SELECT 1 FROM orders WHERE external_id = $1', [input.externalId]);
  expect(rowCount).toBe(0);
  expect((await api.get('/api/v1/orders/999999999')).status).toBe(404);
});

/**
 * 150 pending orders swept with 20 % of CBB calls failing and some 429s; once a fifth
 * are synced the worker is stopped (`kill`: SIGKILL, a crash; `term`: SIGTERM, a deploy)
 * and started again. Waits for every order to settle and checks what CBB received.
 */
async function sweepThroughStop(stop: 'kill' | 'term') {
  await cbb.reset();
  await cbb.faults({ errorRate: 0.2, rateLimitRate: 0.05, retryAfterSeconds: 1, latencyMs: 5 });
  const count = 150;
  const inputs = Array.from({ length: count }, () => orderFixture());
  const ids: string[] = [];
  for (const o of inputs) {
    const { rows } = await db.query(
      `INSERT INTO orders (external_id, branch, customer_name, email, phone, whatsapp_alerts, visa_quantity) VALUES ($1, 'IL', $2, $3, $4, true, 1) RETURNING id::text`,
      [o.externalId, o.customerName, o.email, o.phone],
    );
    ids.push(rows[0].id);
  }
  orderIds.push(...ids);
  const sweep = await api.post('/api/v1/cbb/sweep');
  expect(sweep.status).toBe(202);

  const syncedCount = async () =>
    (await db.query("SELECT count(*)::int AS n FROM orders WHERE id = ANY($1) AND cbb_status = 'synced'", [ids]))
      .rows[0].n as number;
  await eventually('some orders to sync', async () => ((await syncedCount()) >= count / 5 ? true : undefined), 60_000);
  if (stop === 'kill') {
    const killed = killProcess(s, 'worker');
    expect(killed).toBeDefined();
    // Until it is reaped the killed pid still answers signals, and startApp would take it for running.
    await eventually('the killed worker to be gone', async () => (isAlive(killed!) ? undefined : true), 10_000, 50);
  } else {
    expect(await stopProcess(s, 'worker', { graceMs: 60_000 })).toBe(true);
  }
  await startWorkerProcess(temporal);

  await eventually(
    'every order to be synced and settled',
    async () => {
      const { rows } = await db.query(
        "SELECT count(*)::int AS n FROM orders WHERE id = ANY($1) AND cbb_status = 'synced' AND whatsapp_status IN ('sent', 'unconfirmed')",
        [ids],
      );
      if (rows[0].n === count) return true;
      // At 25 % failed calls a step fails several times running now and then, and its retries
      // back off from 1 s doubling to a minute: the last orders can take minutes (this file
      // once took 413 s on a loaded machine, the cause of the tail not yet found).
      throw new Error(`${rows[0].n} of ${count} settled so far`);
    },
    540_000,
    1000,
  );
  await cbb.faults({ errorRate: 0, rateLimitRate: 0, latencyMs: 0 });

  const { contacts, messages } = await cbbTrafficOf(
    cbb,
    inputs.map((o) => o.phone),
  );
  const sentPerOrder = new Map<string, number>();
  for (const m of messages) sentPerOrder.set(m.params.order_id, (sentPerOrder.get(m.params.order_id) ?? 0) + 1);
  const { rows } = await db.query<{ external_id: string; whatsapp_status: string }>(
    'SELECT external_id, whatsapp_status FROM orders WHERE id = ANY($1)',
    [ids],
  );
  // A sync records its last step a moment before its workflow completes; one of these orders'
  // syncs still running after a minute is stuck.
  const own = new Set(ids.map((id) => `cbb-sync-order-${id}`));
  let stuck: string[] = [];
  const running = async () => {
    stuck = [];
    for await (const wf of temporal.workflow.list({
      query: 'WorkflowType = "cbbSyncOrder" AND ExecutionStatus = "Running"',
    }))
      if (own.has(wf.workflowId)) stuck.push(wf.workflowId);
    return stuck.length === 0 ? true : undefined;
  };
  await eventually('every sync of these orders to complete', running, 60_000).catch(() => undefined);
  return { count, contacts, orders: rows, sentPerOrder, stuck };
}

test('with 20 % CBB failures, 429s and a worker killed mid-run: every order synced, one contact and at most one confirmation each', async () => {
  const { count, contacts, orders, sentPerOrder, stuck } = await sweepThroughStop('kill');
  expect(contacts).toHaveLength(count); // each contact created once
  for (const o of orders) {
    const sent = sentPerOrder.get(o.external_id) ?? 0;
    if (o.whatsapp_status === 'sent') expect([o.external_id, sent]).toEqual([o.external_id, 1]);
    else expect(sent).toBeLessThanOrEqual(1); // unconfirmed: the kill hit mid-send
  }
  const unconfirmed = orders.filter((o) => o.whatsapp_status === 'unconfirmed');
  // Only the sends in flight when the worker died can be unknown, and those are bounded.
  expect(unconfirmed.length).toBeLessThanOrEqual(loadConfig({ ...process.env, ...env }).cbb.maxConcurrentSends);
  const reachedCbb = unconfirmed.filter((o) => sentPerOrder.get(o.external_id) === 1).length;
  console.log(
    `chaos run: ${count} orders synced; ${count - unconfirmed.length} confirmations sent once, ${unconfirmed.length} unconfirmed ` +
      `(worker killed mid-send; ${reachedCbb} of them did reach CBB, once)`,
  );
  expect(stuck).toEqual([]);
}, 720_000);

test('a worker stopped with SIGTERM mid-run (a deploy) lets its syncs finish: every confirmation sent exactly once', async () => {
  const { count, contacts, orders, sentPerOrder, stuck } = await sweepThroughStop('term');
  expect(contacts).toHaveLength(count);
  expect(orders.filter((o) => o.whatsapp_status !== 'sent' || sentPerOrder.get(o.external_id) !== 1)).toEqual([]);
  expect(stuck).toEqual([]);
}, 720_000);
