import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { killProcess, logFile, runningPid } from '../../scripts/stack/proc';
import { startPart } from '../../scripts/stack/stack';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { startApiProcess, startWorkerProcess, stopAppProcesses } from '../helpers/app-parts';
import { apiClient, eventually } from '../helpers/http';

/** The real worker and API processes, started as `npm run up` starts them, driven over HTTP. */
const s = stackSettings('test');
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
let db: Client;

beforeAll(async () => {
  // This file reads the worker's info lines: a worker left at a quieter level would not have them.
  await stopAppProcesses('worker');
  const connection = await Connection.connect({ address: appEnv(s).TEMPORAL_ADDRESS });
  try {
    await startWorkerProcess(new TemporalClient({ connection }), { LOG_LEVEL: 'info' });
  } finally {
    await connection.close();
  }
  await startApiProcess();
  db = new Client({ connectionString: appEnv(s).DATABASE_URL });
  await db.connect();
}, 120_000);
afterAll(async () => {
  await stopAppProcesses('api', 'worker');
  await db?.end();
});

const statusOf = async (id: string) => (await api.get(`/api/v1/workflows/${id}`)).body;
const completed = (id: string, timeoutMs = 30_000) =>
  eventually(
    `${id} to complete`,
    async () => {
      const wf = await statusOf(id);
      return wf.status === 'RUNNING' ? undefined : wf;
    },
    timeoutMs,
  );

test('readyz reports Temporal, Postgres and Redis up', async () => {
  const res = await api.get('/readyz');
  expect(res.status).toBe(200);
  expect(res.body.checks).toMatchObject({ temporal: { ok: true }, postgres: { ok: true }, redis: { ok: true } });
  const doc = await api.get('/openapi.json');
  expect(doc.status).toBe(200);
  expect(doc.body.paths['/api/v1/self-checks'].post).toBeDefined();
});

test('the worker and the API expose Prometheus metrics', async () => {
  const worker = await fetch(`http://127.0.0.1:${s.ports.workerMetrics}/metrics`).then((r) => r.text());
  expect(worker).toMatch(/^temporal_\w+/m);
  await api.get('/healthz');
  const own = (await api.get('/metrics')).body as string;
  expect(own).toMatch(
    /orchestrator_api_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/,
  );
});

test('a self-check started through the API completes in Temporal and writes Postgres', async () => {
  const started = await api.post('/api/v1/self-checks', { wait: '1s' }, { 'x-request-id': 'e2e-request-1' });
  expect(started.status).toBe(201);
  expect(started.headers.get('x-request-id')).toBe('e2e-request-1');
  const { workflowId, webUiUrl } = started.body;
  expect(webUiUrl).toContain(`/workflows/${workflowId}/`);

  const wf = await completed(workflowId);
  expect(wf.status).toBe('COMPLETED');
  expect(wf.memo).toEqual({ correlationId: 'e2e-request-1' });
  expect(wf.result.finishedAt).toEqual(expect.any(String));

  const { rows } = await db.query(
    'SELECT step, correlation_id FROM self_check_steps WHERE workflow_id = $1 ORDER BY written_at',
    [workflowId],
  );
  expect(rows).toEqual([
    { step: 'started', correlation_id: 'e2e-request-1' },
    { step: 'finished', correlation_id: 'e2e-request-1' },
  ]);

  // The request's id reaches the worker's activity log lines.
  const activityLines = readFileSync(logFile(s, 'worker'), 'utf8')
    .split('\n')
    .filter((l) => l.includes(workflowId) && l.includes('"component":"activity"'));
  expect(activityLines.length).toBeGreaterThan(0);
  expect(activityLines.every((l) => l.includes('"correlationId":"e2e-request-1"'))).toBe(true);

  const listed = await api.get(`/api/v1/workflows?query=${encodeURIComponent(`WorkflowId = '${workflowId}'`)}`);
  expect(listed.body.items.map((i: { workflowId: string }) => i.workflowId)).toEqual([workflowId]);
});

test('bad input gets a problem document naming the field', async () => {
  const res = await api.post('/api/v1/self-checks', { wait: 'soon' });
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect(res.body.errors).toEqual([{ field: 'wait', message: expect.stringContaining('duration') }]);

  const unknown = await api.post('/api/v1/self-checks', { wait: '1s', extra: true });
  expect(unknown.status).toBe(400);

  const broken = await api.post('/api/v1/self-checks', '{"wait":', {});
  expect(broken.status).toBe(400);
  expect(broken.body.detail).toMatch(/not valid JSON/);
});

test('describe, query, terminate and cancel through the generic endpoints', async () => {
  expect((await api.get('/api/v1/workflows/no-such-workflow')).status).toBe(404);

  const long = (await api.post('/api/v1/self-checks', { wait: '1h' })).body.workflowId;
  const step = await eventually('the timer', async () => {
    const q = await api.post(`/api/v1/workflows/${long}/queries/selfCheckStep`);
    return q.body.result === 'waiting' ? q.body.result : undefined;
  });
  expect(step).toBe('waiting');
  // The workflow has no query by that name: what was asked for does not exist.
  expect((await api.post(`/api/v1/workflows/${long}/queries/noSuchQuery`)).status).toBe(404);
  expect((await api.post(`/api/v1/workflows/${long}/terminate`, {})).status).toBe(400);
  expect((await api.post(`/api/v1/workflows/${long}/terminate`, { reason: 'e2e test' })).status).toBe(200);
  expect((await statusOf(long)).status).toBe('TERMINATED');

  const other = (await api.post('/api/v1/self-checks', { wait: '1h' })).body.workflowId;
  await eventually('the timer', async () =>
    (await api.post(`/api/v1/workflows/${other}/queries/selfCheckStep`)).body.result === 'waiting' ? true : undefined,
  );
  expect((await api.post(`/api/v1/workflows/${other}/cancel`)).status).toBe(202);
  expect((await completed(other)).status).toBe('CANCELLED');
});

test('a workflow waiting on a timer completes after the Temporal server is killed with SIGKILL and restarted', async () => {
  const { workflowId } = (await api.post('/api/v1/self-checks', { wait: '6s' })).body;
  await eventually('the timer', async () =>
    (await api.post(`/api/v1/workflows/${workflowId}/queries/selfCheckStep`)).body.result === 'waiting'
      ? true
      : undefined,
  );

  expect(killProcess(s, 'temporal')).toEqual(expect.any(Number));
  await eventually('temporal to die', async () => (runningPid(s, 'temporal') === undefined ? true : undefined));
  expect((await api.get('/readyz')).status).toBe(503);

  await startPart(s, 'temporal');
  const wf = await completed(workflowId, 60_000);
  expect(wf.status).toBe('COMPLETED');
  const { rows } = await db.query('SELECT step FROM self_check_steps WHERE workflow_id = $1 ORDER BY written_at', [
    workflowId,
  ]);
  expect(rows.map((r) => r.step)).toEqual(['started', 'finished']);
  expect((await api.get('/readyz')).status).toBe(200);
}, 120_000);
