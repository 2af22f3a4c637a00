import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { createPool, type Pool } from '../../lib/infra/db';
import { searchAttributes } from '../../lib/search-attributes';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { startApiProcess, startWorkerProcess, stopAppProcesses } from '../helpers/app-parts';
import { orderFixture, settleOrders } from '../helpers/cbb';
import { holdRows, type RowGate } from '../helpers/gate';
import { apiClient, eventually } from '../helpers/http';

/**
 * What an operator sees of a run in the Web UI, read through the Temporal client as the
 * UI reads it: the static summary, the current details (the `__temporal_workflow_metadata`
 * query) and the state's search attribute, which must agree.
 */
const s = stackSettings('test');
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
let pool: Pool;
let connection: Connection;
let temporal: Client;
const gates: RowGate[] = [];
const orderIds: string[] = [];

beforeAll(async () => {
  connection = await Connection.connect({ address: appEnv(s).TEMPORAL_ADDRESS });
  temporal = new Client({ connection });
  await startWorkerProcess(temporal);
  await startApiProcess();
  pool = createPool({ database: { url: appEnv(s).DATABASE_URL, poolMax: 4 } });
  await seedTrades(pool, 5_000);
}, 120_000);
afterAll(async () => {
  for (const gate of gates) await gate.release();
  await stopAppProcesses('api', 'worker');
  if (pool) await settleOrders(pool, orderIds);
  await pool?.end();
  await connection?.close();
});

async function seen(handle: WorkflowHandle, attribute: (typeof searchAttributes)[keyof typeof searchAttributes]) {
  const d = await handle.describe();
  const { currentDetails } = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return {
    status: d.status.name,
    summary: await d.staticSummary(),
    state: d.typedSearchAttributes.get(attribute),
    details: currentDetails,
  };
}

test('a paused migration says paused in its current details and in MigrationState, and names the migration', async () => {
  // The third batch (rows 1001..1500) waits on the test until the pause has been sent.
  const gate = await holdRows(pool, 'trades', 1001, 1500);
  gates.push(gate);
  const started = await api.post('/api/v1/migrations/trades-risk-score/runs', { batchSize: 500 });
  expect(started.status).toBe(201);
  const handle = temporal.workflow.getHandle(started.body.id);
  await gate.reached('the third batch');
  const running = await seen(handle, searchAttributes.migrationState);
  expect(running).toMatchObject({ status: 'RUNNING', state: 'running' });
  expect(running.details).toMatch(/^running at [\d,.]+ rows\/s with batch size 500, no rate limit/);

  expect((await api.post(`/api/v1/migrations/runs/${started.body.id}/pause`)).status).toBe(202);
  await gate.release();
  const paused = await eventually('MigrationState and the current details to say paused', async () => {
    const now = await seen(handle, searchAttributes.migrationState);
    return now.state === 'paused' && now.details?.startsWith('paused') ? now : undefined;
  });
  // The total is Postgres's estimate, not a count: only its form is certain.
  expect(paused).toEqual({
    status: 'RUNNING',
    summary: 'Migration trades-risk-score',
    state: 'paused',
    details: expect.stringMatching(/^paused at 1,500 of ~[\d,]+ rows \(\d+ %\), batch 3\. Send the resume signal/),
  });
  expect((await api.post(`/api/v1/migrations/runs/${started.body.id}/cancel`)).status).toBe(202);
  await eventually('the run to end cancelled', async () =>
    (await seen(handle, searchAttributes.migrationState)).state === 'cancelled' ? true : undefined,
  );
}, 90_000);

test('an order that WhatsApp skips ends with SyncStatus synced and current details saying why', async () => {
  const res = await api.post('/api/v1/orders', orderFixture({ whatsappAlerts: false }));
  expect(res.status).toBe(201);
  orderIds.push(res.body.order.id);
  const handle = temporal.workflow.getHandle(res.body.workflow.workflowId);
  await handle.result();
  expect(await seen(handle, searchAttributes.syncStatus)).toEqual({
    status: 'COMPLETED',
    summary: `CBB sync of order ${res.body.order.id}`,
    state: 'synced',
    details: 'synced; confirmation skipped',
  });
}, 60_000);
