import { readFileSync, statSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { migrationProgress } from '../../lib/batch-migration/contract';
import { cbbSweepWorkflowType, type CbbSweepWorkflow } from '../../lib/cbb/contract';
import { loadConfig } from '../../lib/infra/config';
import { createPool, type Pool } from '../../lib/infra/db';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { logFile } from '../../scripts/stack/proc';
import { startApiProcess, startWorkerProcess, stopAppProcesses } from '../helpers/app-parts';
import { cbbAdmin, createOrder, settleOrders } from '../helpers/cbb';
import { apiClient, eventually } from '../helpers/http';
import { promValue, scrape, type Scrape } from '../helpers/metrics-text';

/**
 * The business metrics of a CBB sweep and a migration, read where an operator reads them:
 * the real worker's /metrics, the API's /metrics and the stack's Prometheus; and the one
 * log line per unit of work. Every expected figure is derived from what the run did.
 */
const s = stackSettings('test');
const env = appEnv(s);
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
const workerMetrics = `http://127.0.0.1:${s.ports.workerMetrics}/metrics`;
const prometheus = `http://127.0.0.1:${s.ports.prometheus}`;
const migration = 'trades-risk-score';
let pool: Pool;
let connection: Connection;
let client: Client;
let logFrom = 0;
const orders: string[] = [];

beforeAll(async () => {
  connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  client = new Client({ connection });
  logFrom = statSync(logFile(s, 'worker'), { throwIfNoEntry: false })?.size ?? 0;
  await startWorkerProcess(client, { LOG_LEVEL: 'info' });
  await startApiProcess();
  pool = createPool({ database: { url: env.DATABASE_URL, poolMax: 2 } });
}, 120_000);
afterAll(async () => {
  if (pool) await settleOrders(pool, orders);
  await stopAppProcesses('api', 'worker');
  await pool?.end();
  await connection?.close();
});

/** The worker's JSON log lines written since this file started it. */
const workerLog = () =>
  readFileSync(logFile(s, 'worker'), 'utf8')
    .slice(logFrom)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
/** Waits until Prometheus has scraped the value the worker reports. */
const promHolds = (query: string, value: number) =>
  eventually(
    `Prometheus to answer ${value} to ${query}`,
    async () => ((await promValue(prometheus, query)) === value ? true : undefined),
    60_000,
  );
const delta = (before: Scrape, after: Scrape) => (name: string, labels?: Record<string, string>) =>
  after(name, labels) - before(name, labels);

test('a CBB sweep shows on the worker as syncs by outcome, confirmations, CBB requests and a chunk per run', async () => {
  const cbb = cbbAdmin(loadConfig().cbb);
  // The sweep syncs every pending order: other files' leftovers are settled first.
  await pool.query("UPDATE orders SET cbb_status = 'skipped' WHERE cbb_status = 'pending'");
  orders.push(
    ...(await Promise.all([
      ...Array.from({ length: 4 }, () => createOrder(pool, { whatsappAlerts: true })),
      ...Array.from({ length: 2 }, () => createOrder(pool, { whatsappAlerts: false })),
      ...Array.from({ length: 2 }, () => createOrder(pool, { branch: 'US' })),
    ])),
  );
  const requestsBefore = (await cbb.requests()).length;
  const before = await scrape(workerMetrics);
  const workflowId = `cbb-sweep-metrics-${Date.now()}`;
  const totals = await client.workflow.execute<CbbSweepWorkflow>(cbbSweepWorkflowType, {
    taskQueue: loadConfig().temporal.taskQueue,
    workflowId,
    args: [{ concurrency: 4, perRun: 3, pageSize: 3 }],
  });
  const d = delta(before, await scrape(workerMetrics));

  const { rows } = await pool.query<{ cbb_status: string; whatsapp_status: string }>(
    'SELECT cbb_status, whatsapp_status FROM orders WHERE id = ANY($1)',
    [orders],
  );
  const count = (pred: (r: (typeof rows)[number]) => boolean) => rows.filter(pred).length;
  expect(totals.started).toBe(orders.length);
  expect(d('cbb_order_syncs_total', { outcome: 'synced' })).toBe(count((r) => r.cbb_status === 'synced'));
  expect(d('cbb_order_syncs_total', { outcome: 'skipped' })).toBe(count((r) => r.cbb_status === 'skipped'));
  expect(d('cbb_order_syncs_total', { outcome: 'failed' })).toBe(count((r) => r.cbb_status === 'failed'));
  expect(d('cbb_order_syncs_total')).toBe(orders.length);
  expect(d('cbb_confirmations_total', { result: 'sent' })).toBe(count((r) => r.whatsapp_status === 'sent'));
  expect(count((r) => r.cbb_status === 'skipped')).toBe(2);
  // Every request the local CBB server logged came from this worker, and each is one observation.
  expect(d('cbb_request_duration_seconds_count')).toBe((await cbb.requests()).length - requestsBefore);
  expect(d('cbb_request_duration_seconds_count', { route: 'send_content', status_class: '2xx' })).toBe(
    count((r) => r.whatsapp_status === 'sent'),
  );
  // One chunk per run of the sweep's continue-as-new chain.
  let runs = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs++;
  expect(runs).toBeGreaterThan(1);
  expect(d('cbb_sweep_chunks_total')).toBe(runs);

  // One line per sync, with the sweep as its correlation id.
  // The line is written as the sync's last workflow task completes, which may be just after its result is out.
  const ended = await eventually(`an "order sync ended" line for each of ${orders.length} orders`, async () => {
    const found = workerLog().filter((l) => l.msg === 'order sync ended' && orders.includes(String(l.orderId)));
    return found.length >= orders.length ? found : undefined;
  });
  expect(ended.map((l) => l.orderId).sort()).toEqual([...orders].sort());
  expect(new Set(ended.map((l) => l.correlationId))).toEqual(new Set([workflowId]));
});

test('a migration shows rows, batches, latency, throttle time and run states on the worker, API and Prometheus', async () => {
  await seedTrades(pool, 3000);
  const before = await scrape(workerMetrics);
  // A sample from before the run, so that Prometheus sees the rows arrive (a rate needs two samples).
  await promHolds(
    `sum(batch_migration_rows_total{migration="${migration}"})`,
    before('batch_migration_rows_total', { migration }),
  );
  const started = await api.post(`/api/v1/migrations/${migration}/runs`, { batchSize: 500, maxRowsPerSecond: 2000 });
  expect(started.status).toBe(201);
  const id: string = started.body.id;
  const run = await eventually(`${id} to complete`, async () => {
    const r = (await api.get(`/api/v1/migrations/runs/${id}`)).body;
    return r.state === 'completed' ? r : undefined;
  });
  const progress = await client.workflow.getHandle(id).query(migrationProgress);
  const d = delta(before, await scrape(workerMetrics));
  const m = { migration };
  expect(d('batch_migration_rows_total', m)).toBe(run.rowsDone);
  expect(d('batch_migration_batches_total', { ...m, direction: 'forward' })).toBe(run.batches);
  expect(d('batch_migration_batch_duration_seconds_count', m)).toBe(run.batches);
  expect(d('batch_migration_throttle_seconds_sum', m)).toBeCloseTo(progress.throttledMs / 1000, 3);
  expect(progress.throttledMs).toBeGreaterThan(0);
  for (const state of ['running', 'verifying', 'completed'])
    expect(d('batch_migration_runs_total', { ...m, state })).toBe(1);

  // Levels from Postgres on the API's /metrics.
  const apiMetrics = await scrape(`http://127.0.0.1:${s.ports.api}/metrics`);
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM migration_runs WHERE migration = $1 AND state = 'completed'",
    [migration],
  );
  expect(apiMetrics('batch_migration_runs_in_state', { ...m, state: 'completed' })).toBe(rows[0].n);
  expect(apiMetrics('batch_migration_runs_in_state', { ...m, state: 'running' })).toBe(0);

  // Prometheus scrapes the worker and evaluates the recording rules.
  const worker = await scrape(workerMetrics);
  await promHolds(`sum(batch_migration_rows_total{migration="${migration}"})`, worker('batch_migration_rows_total', m));
  await eventually('a recorded row rate above 0', async () => {
    const rate = await promValue(prometheus, `batch_migration:rows:rate5m{migration="${migration}"}`);
    return rate !== undefined && rate > 0 ? rate : undefined;
  });

  // One line per batch, with the API request's correlation id; none per row.
  const lines = await eventually(`a "migration batch applied" line for each of ${run.batches} batches`, async () => {
    const found = workerLog().filter((l) => l.msg === 'migration batch applied' && l.runId === id);
    return found.length >= run.batches ? found : undefined;
  });
  expect(lines).toHaveLength(run.batches);
  expect(lines.map((l) => l.rows).reduce((a, b) => Number(a) + Number(b), 0)).toBe(run.rowsDone);
  expect(new Set(lines.map((l) => l.correlationId)).size).toBe(1);
  expect(lines[0].correlationId).toEqual(expect.any(String));
});
