import type { Worker } from '@temporalio/worker';
import { createPool } from '../../lib/infra/db';
import { createRedis } from '../../lib/infra/redis';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { getRun } from '../../store/batch-migration/runs';
import { apiTestPorts, testApis } from '../helpers/api-server';
import { holdRows } from '../helpers/gate';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * The API's failure paths on the real services: the Express app in this process (on a
 * port of this slot), the real dev server, Postgres and Redis, and a worker of this
 * file's own task queue running what the API starts.
 */
let stack: StackHandles;
let worker: Worker;
let running: Promise<void>;
const taskQueue = uniqueTaskQueue('it-api');
const apis = testApis(() => stack, apiTestPorts.first, taskQueue);
const open = apis.open;

beforeAll(async () => {
  stack = await connectStack();
  worker = await stackWorker(stack, { taskQueue });
  running = worker.run();
  await seedTrades(stack.pool, 20_000);
}, 60_000);
afterAll(async () => {
  await apis.closeAll();
  worker?.shutdown();
  await running;
  await stack?.close();
});

describe('bearer auth', () => {
  test('with API_TOKEN set, /api answers 401 without a token and with a wrong one, and serves the right one', async () => {
    const { api } = await open({ config: { api: { ...stack.config.api, token: 'a-test-token' } } });
    const none = await api.get('/api/v1/migrations');
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(none.body).toMatchObject({ title: 'Unauthorized', detail: expect.stringMatching(/Authorization: Bearer/) });
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await api.get('/api/v1/migrations', { authorization: 'Bearer not-the-token' })).status).toBe(401);
    expect((await api.get('/api/v1/migrations', { authorization: 'a-test-token' })).status).toBe(401);
    const right = await api.get('/api/v1/migrations', { authorization: 'Bearer a-test-token' });
    expect(right.status).toBe(200);
    expect(right.body.items.length).toBeGreaterThan(0);
    // Health and readiness stay open for the probes.
    expect((await api.get('/healthz')).status).toBe(200);
  });
});

describe('/readyz', () => {
  test('answers 503 naming Redis when Redis is down, the others up', async () => {
    const redis = createRedis({ redis: { url: `redis://127.0.0.1:${apiTestPorts.unused}` } });
    try {
      const { api } = await open({ redis });
      const res = await api.get('/readyz');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({
        status: 'unavailable',
        checks: {
          redis: { ok: false, error: expect.stringMatching(/^(unreachable|timed out)$/) },
          postgres: { ok: true },
          temporal: { ok: true },
        },
      });
      // A fixed phrase only: what the client library said goes to the log, not to whoever asks.
      expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|retries|connect|127\.0\.0\.1/i);
    } finally {
      redis.disconnect();
    }
  });

  test('answers 503 naming Postgres when Postgres is down', async () => {
    const pool = createPool({
      database: { url: stack.config.database.url.replace(/:\d+\//, `:${apiTestPorts.unused}/`), poolMax: 1 },
    });
    try {
      const { api } = await open({ pool });
      const res = await api.get('/readyz');
      expect(res.status).toBe(503);
      expect(res.body.checks).toMatchObject({
        postgres: { ok: false, error: 'unreachable' },
        redis: { ok: true },
        temporal: { ok: true },
      });
    } finally {
      await pool.end();
    }
  });

  test('50 concurrent calls cost each dependency one check, at most one a second', async () => {
    let selects = 0;
    let pings = 0;
    const countedPool = new Proxy(stack.pool, {
      get(target, name, receiver) {
        if (name !== 'query') return Reflect.get(target, name, receiver) as unknown;
        return (...args: unknown[]) => {
          if (args[0] === 'SELECT 1') selects++;
          return (target.query as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const countedRedis = new Proxy(stack.redis, {
      get(target, name, receiver) {
        if (name !== 'ping') return Reflect.get(target, name, receiver) as unknown;
        return () => {
          pings++;
          return target.ping();
        };
      },
    });
    const { url } = await open({ pool: countedPool, redis: countedRedis });
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${url}/readyz`)));
    const seconds = Math.floor((Date.now() - started) / 1000);
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(selects).toBeGreaterThanOrEqual(1);
    expect(selects).toBeLessThanOrEqual(1 + seconds);
    expect(pings).toBeLessThanOrEqual(1 + seconds);
  });
});

describe('a migration run over HTTP', () => {
  test('reverse answers 409 while the run is running, 201 once it is cancelled, and the reverse restores the rows', async () => {
    const { api } = await open();
    const before = (
      await stack.pool.query("SELECT md5(string_agg(risk_score::text, ',' ORDER BY id)) AS f FROM trades")
    ).rows[0].f;
    const gate = await holdRows(stack.pool, 'trades', 3001, 3500);
    try {
      const started = await api.post('/api/v1/migrations/trades-risk-score/runs', { batchSize: 500 });
      expect(started.status).toBe(201);
      const { id } = started.body;
      await gate.reached('the run');

      const refused = await api.post(`/api/v1/migrations/runs/${id}/reverse`);
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ title: 'Conflict', detail: expect.stringMatching(/is running/) });

      expect((await api.post(`/api/v1/migrations/runs/${id}/cancel`)).status).toBe(202);
      await gate.release();
      await waitUntil(`${id} to be cancelled`, async () => (await getRun(stack.pool, id))?.state === 'cancelled');

      const reverse = await api.post(`/api/v1/migrations/runs/${id}/reverse`);
      expect(reverse.status).toBe(201);
      expect(reverse.body).toMatchObject({ kind: 'reverse', reverses: id });
      await waitUntil(
        `the reverse ${reverse.body.id} to complete`,
        async () => (await getRun(stack.pool, reverse.body.id))?.state === 'completed',
      );
      const after = (
        await stack.pool.query("SELECT md5(string_agg(risk_score::text, ',' ORDER BY id)) AS f FROM trades")
      ).rows[0].f;
      expect(after).toBe(before);
    } finally {
      await gate.release();
    }
  }, 120_000);

  test('the generic signal, update and query routes drive a workflow; a rejected update is a 409, an unknown workflow a 404', async () => {
    const { api } = await open();
    await seedTrades(stack.pool, 20_000);
    let gate = await holdRows(stack.pool, 'trades', 3001, 3500);
    try {
      const { id } = (await api.post('/api/v1/migrations/trades-risk-score/runs', { batchSize: 500 })).body;
      await gate.reached('the run');
      const wf = `/api/v1/workflows/${id}`;

      expect((await api.post(`${wf}/signals/pause`)).status).toBe(202);
      await waitUntil(
        'the pause request to show',
        async () => (await api.post(`${wf}/queries/progress`)).body.result?.pauseRequested === true,
      );
      const updated = await api.post(`${wf}/updates/setBatchSize`, { args: [800] });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ update: 'setBatchSize', result: { batchSize: 800, adaptive: false } });
      const rejected = await api.post(`${wf}/updates/setBatchSize`, { args: [0] });
      expect(rejected.status).toBe(409);
      expect(rejected.body.detail).toMatch(/batchSize must be a whole number from 10 to 100000, got 0/);
      await gate.release();
      await waitUntil(`${id} to be paused`, async () => (await getRun(stack.pool, id))?.state === 'paused');

      gate = await holdRows(stack.pool, 'trades', 12_001, 12_800);
      expect((await api.post(`${wf}/signals/resume`)).status).toBe(202);
      await gate.reached('the resumed run');
      const progress = (await api.post(`${wf}/queries/progress`)).body.result;
      expect(progress).toMatchObject({ state: 'running', batchSize: 800, pauseRequested: false });
      expect((await api.post(`${wf}/signals/cancel`)).status).toBe(202);
      await gate.release();
      await waitUntil(`${id} to be cancelled`, async () => (await getRun(stack.pool, id))?.state === 'cancelled');

      expect((await api.post('/api/v1/workflows/no-such-workflow/signals/pause')).status).toBe(404);
      expect((await api.post('/api/v1/workflows/no-such-workflow/updates/setBatchSize', { args: [100] })).status).toBe(
        404,
      );
    } finally {
      await gate.release();
    }
  }, 120_000);
});
