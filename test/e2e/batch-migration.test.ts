import { execFileSync } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { createPool, type Pool } from '../../lib/infra/db';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { venvBin } from '../../scripts/stack/services';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { startApiProcess, startWorkerProcess, stopAppProcesses } from '../helpers/app-parts';
import { holdRows, type RowGate } from '../helpers/gate';
import { apiClient, eventually } from '../helpers/http';

/** Data migrations driven over HTTP and from the Temporal CLI, on the real worker and API processes. */
const s = stackSettings('test');
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
let pool: Pool;
let connection: Connection;
const gates: RowGate[] = [];

beforeAll(async () => {
  connection = await Connection.connect({ address: appEnv(s).TEMPORAL_ADDRESS });
  await startWorkerProcess(new Client({ connection }));
  await startApiProcess();
  // Room for the row gates besides the queries.
  pool = createPool({ database: { url: appEnv(s).DATABASE_URL, poolMax: 4 } });
  await seedTrades(pool, 20_000);
}, 120_000);
afterAll(async () => {
  for (const gate of gates) await gate.release();
  await stopAppProcesses('api', 'worker');
  await pool?.end();
  await connection?.close();
});
const hold = async (from: number, to: number) => {
  const gate = await holdRows(pool, 'trades', from, to);
  gates.push(gate);
  return gate;
};

const temporalCli = (...args: string[]) =>
  execFileSync(venvBin(s, 'temporal'), [...args, '--address', appEnv(s).TEMPORAL_ADDRESS], { encoding: 'utf8' });
const runOf = async (id: string) => (await api.get(`/api/v1/migrations/runs/${id}`)).body;
const reaches = (id: string, state: string) =>
  eventually(`${id} to be ${state}`, async () => {
    const run = await runOf(id);
    return run.state === state ? run : undefined;
  });

test('lists the definitions and refuses bad parameters, naming the field', async () => {
  const list = await api.get('/api/v1/migrations');
  expect(list.body.items.map((m: { name: string }) => m.name)).toEqual(
    expect.arrayContaining(['trades-risk-score', 'orders-phone-e164']),
  );
  const bad = await api.post('/api/v1/migrations/trades-risk-score/runs', { batchSize: 0 });
  expect(bad.status).toBe(400);
  expect(bad.body.errors).toEqual([{ field: 'batchSize', message: expect.stringMatching(/10/) }]);
  expect((await api.post('/api/v1/migrations/no-such/runs', {})).status).toBe(404);
  const doc = (await api.get('/openapi.json')).body;
  expect(
    doc.paths['/api/v1/migrations/{name}/runs'].post.requestBody.content['application/json'].schema.properties
      .batchSize,
  ).toMatchObject({
    minimum: 10,
    maximum: 100_000,
  });
  expect(doc.paths['/api/v1/migrations/runs/{id}'].patch).toBeDefined();
});

test('pause from the API, resume from the Temporal CLI, cancel from the API', async () => {
  // The third batch (rows 1001..1500) waits on the test until the pause has been sent.
  const first = await hold(1001, 1500);
  const started = await api.post('/api/v1/migrations/trades-risk-score/runs', {
    batchSize: 500,
    maxRowsPerSecond: 1000,
  });
  expect(started.status).toBe(201);
  const { id } = started.body;
  expect(id).toMatch(/^migration-trades-risk-score-\d+$/);
  await first.reached('the third batch');
  expect((await runOf(id)).state).toBe('running');

  expect((await api.post(`/api/v1/migrations/runs/${id}/pause`)).status).toBe(202);
  await first.release();
  const paused = await reaches(id, 'paused');
  expect(paused).toMatchObject({ rowsDone: 1500, progress: { state: 'paused', pauseRequested: true } });
  // What the Web UI's search does: find the run by its typed search attributes.
  const query = `MigrationName = "trades-risk-score" AND MigrationState = "paused" AND WorkflowId = "${id}"`;
  await eventually('the paused run in visibility', async () =>
    temporalCli('workflow', 'list', '--query', query).includes(id) ? true : undefined,
  );

  // Rows 15001..16000 keep the resumed run from finishing before the cancel.
  const second = await hold(15_001, 16_000);
  temporalCli('workflow', 'signal', '--workflow-id', id, '--name', 'resume');
  await reaches(id, 'running');
  const updated = temporalCli(
    'workflow',
    'update',
    'execute',
    '--workflow-id',
    id,
    '--name',
    'setBatchSize',
    '--input',
    '700',
  );
  expect(updated).toMatch(/batchSize:700/);
  expect((await runOf(id)).progress).toMatchObject({ batchSize: 700, adaptive: false });
  await second.reached('the resumed run');

  expect((await api.post(`/api/v1/migrations/runs/${id}/cancel`)).status).toBe(202);
  await second.release();
  const cancelled = await reaches(id, 'cancelled');
  expect(cancelled.rowsDone).toBeLessThan(20_000);
  expect(cancelled.rowsDone).toBeGreaterThan(paused.rowsDone);
  expect(cancelled.finishedAt).not.toBeNull();
}, 90_000);

test('a run sped up through PATCH completes, verifies, and shows its batches', async () => {
  const { id } = (
    await api.post('/api/v1/migrations/trades-risk-score/runs', { batchSize: 500, maxRowsPerSecond: 500 })
  ).body;
  const patched = await api.patch(`/api/v1/migrations/runs/${id}`, { batchSize: 5000, maxRowsPerSecond: 0 });
  expect(patched.status).toBe(200);
  expect(patched.body.settings).toEqual({ batchSize: 5000, maxRowsPerSecond: null, adaptive: false });
  const done = await reaches(id, 'completed');
  expect(done).toMatchObject({ rowsDone: 20_000, verify: { ok: true, invalidRows: 0 }, batchSize: 5000 });
  expect(done.recentBatches.length).toBeGreaterThan(1);
  expect(done.webUiUrl).toContain(`/workflows/${id}`);
}, 90_000);
