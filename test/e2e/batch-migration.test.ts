import { execFileSync } from 'node:child_process';
import { createPool, type Pool } from '../../lib/infra/db';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { startAppPart } from '../../scripts/stack/parts';
import { venvBin } from '../../scripts/stack/services';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { apiClient, eventually } from '../helpers/http';

/** Data migrations driven over HTTP and from the Temporal CLI, on the real worker and API processes. */
const s = stackSettings('test');
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
let pool: Pool;

beforeAll(async () => {
  await startAppPart(s, 'worker');
  await startAppPart(s, 'api');
  pool = createPool({ database: { url: appEnv(s).DATABASE_URL, poolMax: 2 } });
  await seedTrades(pool, 20_000);
}, 120_000);
afterAll(() => pool?.end());

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
  const started = await api.post('/api/v1/migrations/trades-risk-score/runs', {
    batchSize: 500,
    maxRowsPerSecond: 1000,
  });
  expect(started.status).toBe(201);
  const { id } = started.body;
  expect(id).toMatch(/^migration-trades-risk-score-\d+$/);
  await reaches(id, 'running');

  expect((await api.post(`/api/v1/migrations/runs/${id}/pause`)).status).toBe(202);
  const paused = await reaches(id, 'paused');
  await new Promise((r) => setTimeout(r, 1500));
  expect((await runOf(id)).rowsDone).toBe(paused.rowsDone);
  // What the Web UI's search does: find the run by its typed search attributes.
  const query = `MigrationName = "trades-risk-score" AND MigrationState = "paused" AND WorkflowId = "${id}"`;
  await eventually('the paused run in visibility', async () =>
    temporalCli('workflow', 'list', '--query', query).includes(id) ? true : undefined,
  );

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

  expect((await api.post(`/api/v1/migrations/runs/${id}/cancel`)).status).toBe(202);
  const cancelled = await reaches(id, 'cancelled');
  expect(cancelled.rowsDone).toBeLessThan(20_000);
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
