import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { PoolClient } from '../../lib/infra/db';
import { listEvents } from '../../store/cbb/orders';
import { apiTestPorts, testApis, type TestApi } from '../helpers/api-server';
import { orderFixture, settleOrders } from '../helpers/cbb';
import { eventually } from '../helpers/http';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * GET /api/v1/orders/:id answers from the order's row: the sync's progress as its
 * activities recorded it, with Temporal out of reach. `?live=true` asks Temporal.
 * Orders go in through the API in this process (a port of this slot), synced by a
 * worker of this file's own task queue on the real dev server, Postgres and CBB server.
 */
let stack: StackHandles;
let worker: Worker;
let running: Promise<void>;
const taskQueue = uniqueTaskQueue('it-order-read');
const apis = testApis(() => stack, apiTestPorts.first + 60, taskQueue);
const open = apis.open;
const orders: string[] = [];
/** Never closed: the client's retries of the live read outlast the request, and a closed channel throws in them. */
let unreachable: Connection;

let withTemporal: TestApi;
/** The same API with a Temporal client whose server is not there: any call to it fails. */
let withoutTemporal: TestApi;

beforeAll(async () => {
  stack = await connectStack();
  worker = await stackWorker(stack, { taskQueue });
  running = worker.run();
  withTemporal = await open();
  unreachable = Connection.lazy({ address: `127.0.0.1:${apiTestPorts.unused}`, connectTimeout: 500 });
  withoutTemporal = await open({
    client: new Client({ connection: unreachable, namespace: stack.config.temporal.namespace }),
  });
}, 60_000);
afterAll(async () => {
  await apis.closeAll();
  worker?.shutdown();
  await running;
  if (stack) await settleOrders(stack.pool, orders);
  await stack?.close();
});

async function post(over: Parameters<typeof orderFixture>[0] = {}) {
  const res = await withTemporal.api.post('/api/v1/orders', orderFixture(over));
  expect(res.status).toBe(201);
  orders.push(res.body.order.id);
  return res.body as { order: { id: string; phone: string }; workflow: { workflowId: string; runId: string } };
}

const readWithoutTemporal = (id: string) => withoutTemporal.api.get(`/api/v1/orders/${id}`);

test('with Temporal unreachable, a read answers the sync as it runs and as it ended; ?live=true needs Temporal', async () => {
  // The contact step takes an advisory lock on the phone: holding it keeps the run inside that step.
  const input = orderFixture();
  const gate: PoolClient = await stack.pool.connect();
  let held = true;
  try {
    await gate.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`cbb-contact:${input.phone}`]);
    const gatePid = (await gate.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const { order, workflow } = await post(input);
    await waitUntil('the sync to wait for the contact lock', async () => {
      const { rows } = await stack.pool.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [
        gatePid,
      ]);
      return rows.length > 0;
    });

    const midway = await readWithoutTemporal(order.id);
    expect(midway.status).toBe(200);
    expect(midway.body.sync).toMatchObject({
      status: 'pending',
      attempts: 1,
      step: 'loading',
      progress: 'syncing',
      running: true,
    });
    expect(midway.body.workflow).toEqual({
      workflowId: workflow.workflowId,
      runId: workflow.runId,
      status: 'RUNNING',
      webUiUrl: expect.stringContaining(`/workflows/${workflow.workflowId}/${workflow.runId}/history`),
    });
    // One statement reads the row and its events; they read as the events' own query gives them.
    const events = await listEvents(stack.pool, order.id);
    expect(midway.body.events).toEqual(events.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })));
    expect(midway.body.events.map((e: { type: string }) => e.type)).toEqual(['sync_started']);

    await gate.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`cbb-contact:${input.phone}`]);
    held = false;
    const ended = await eventually('the sync to record its end', async () => {
      const res = await readWithoutTemporal(order.id);
      return res.body.sync?.running === false ? res : undefined;
    });
    expect(ended.status).toBe(200);
    expect(ended.body.sync).toMatchObject({
      status: 'synced',
      synced: true,
      contactId: expect.any(String),
      step: 'done',
      progress: 'confirmed',
      running: false,
    });
    expect(ended.body.whatsappConfirmation.status).toBe('sent');
    expect(ended.body.workflow).toMatchObject({ runId: workflow.runId, status: 'COMPLETED' });

    // The live route asks Temporal: out of reach, that is a 503 with Retry-After within the deadline, not a stale answer.
    const live = await withoutTemporal.api.get(`/api/v1/orders/${order.id}?live=true`);
    expect(live.status).toBe(503);
    expect(live.headers.get('retry-after')).toMatch(/^\d+$/);
  } finally {
    if (held)
      await gate
        .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`cbb-contact:${input.phone}`])
        .catch(() => undefined);
    gate.release();
  }
}, 90_000);

test('?live=true describes the workflow from Temporal, and agrees with the read from the row once it has ended', async () => {
  const { order, workflow } = await post({ whatsappAlerts: false });
  const live = await eventually('the workflow to complete', async () => {
    const res = await withTemporal.api.get(`/api/v1/orders/${order.id}?live=true`);
    return res.body.workflow?.status === 'COMPLETED' ? res : undefined;
  });
  expect(live.status).toBe(200);
  expect(live.body.workflow).toEqual({
    workflowId: workflow.workflowId,
    runId: workflow.runId,
    status: 'COMPLETED',
    webUiUrl: expect.stringContaining(`/${workflow.runId}/history`),
  });
  const stored = await readWithoutTemporal(order.id);
  expect(stored.body.workflow).toEqual(live.body.workflow);
  expect(stored.body.sync).toMatchObject({ status: 'synced', step: 'done', progress: 'synced', running: false });
  expect(stored.body.whatsappConfirmation.status).toBe('skipped');
  expect((await withTemporal.api.get(`/api/v1/orders/${order.id}?live=yes`)).status).toBe(400);
}, 90_000);

test('a skipped order and an order no run has begun read from the row alone', async () => {
  const { order } = await post({ isTest: true });
  const skipped = await eventually('the test order to be skipped', async () => {
    const res = await readWithoutTemporal(order.id);
    return res.body.sync?.running === false && res.body.sync?.step === 'done' ? res : undefined;
  });
  expect(skipped.body.sync).toMatchObject({ status: 'skipped', progress: 'skipped', reason: 'test order' });
  expect(skipped.body.workflow.status).toBe('COMPLETED');

  // Written straight to Postgres, as the order backend may: no run yet, the sweep will start one.
  const { rows } = await stack.pool.query<{ id: string }>(
    `INSERT INTO orders (external_id, branch, customer_name, phone) VALUES ($1, 'IL', 'Dana Levi', '+972520000000') RETURNING id::text`,
    [orderFixture().externalId],
  );
  orders.push(rows[0].id);
  const fresh = await readWithoutTemporal(rows[0].id);
  expect(fresh.status).toBe(200);
  expect(fresh.body.sync).toMatchObject({ status: 'pending', attempts: 0, step: null, progress: null, running: false });
  expect(fresh.body.workflow).toMatchObject({
    workflowId: `cbb-sync-order-${rows[0].id}`,
    runId: null,
    status: 'NOT_STARTED',
  });
  expect((await readWithoutTemporal('999999999999')).status).toBe(404);
}, 90_000);
