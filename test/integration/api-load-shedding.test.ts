import { Pool } from 'pg';
import { apiTestPorts, startTestApi, type TestApi } from '../helpers/api-server';
import type { ApiResponse } from '../helpers/http';
import { scrape } from '../helpers/metrics-text';
import { connectStack, type StackHandles } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

/**
 * The API under more requests than it works on at once. A lock on `orders` held by the
 * test makes every order read wait for as long as the test says, so "in flight" and
 * "queued" are states the test sets up and checks, never a race against the clock.
 */
let stack: StackHandles;
let locker: Pool;
let port = apiTestPorts.first + 40;
const token = 'a-load-shedding-test-token';
const auth = { authorization: `Bearer ${token}` };

const open = (api: { deadlineMs: number; maxInFlight: number; maxQueued: number }) =>
  startTestApi(stack, port++, {
    config: {
      api: {
        ...stack.config.api,
        token,
        deadlineMs: api.deadlineMs,
        admission: { maxInFlight: api.maxInFlight, maxQueued: api.maxQueued },
      },
    },
    headers: auth,
  });

/** Order reads of the test's pool that wait on the lock: the requests the API is working on. */
async function readsWaitingOnTheLock(): Promise<number> {
  const { rows } = await locker.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'test' AND wait_event_type = 'Lock'",
  );
  return rows[0].n;
}

async function lockOrders() {
  const client = await locker.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
  let held = true;
  return {
    async release() {
      if (!held) return;
      held = false;
      await client.query('ROLLBACK');
      client.release();
    },
  };
}

const isBusy503 = (res: ApiResponse) => {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 503, title: 'Unavailable', requestId: expect.any(String) });
};

beforeAll(async () => {
  stack = await connectStack();
  locker = new Pool({ connectionString: stack.config.database.url, max: 2, application_name: 'lock-holder' });
});
afterAll(async () => {
  await locker?.end();
  await stack?.close();
});

test('past the limit and the queue, requests get 503 with Retry-After at once while those in flight finish; probes still answer', async () => {
  // A deadline far beyond the test's waits, so only the admission limit answers 503 here.
  const server: TestApi = await open({ deadlineMs: 120_000, maxInFlight: 2, maxQueued: 1 });
  const lock = await lockOrders();
  try {
    const inFlight = [server.api.get('/api/v1/orders/900000001'), server.api.get('/api/v1/orders/900000002')];
    await waitUntil('both admitted reads to wait on the lock', async () => (await readsWaitingOnTheLock()) === 2);
    let queuedAnswered = false;
    const queued = server.api.get('/api/v1/orders/900000003').then((res) => ((queuedAnswered = true), res));
    // The queued one is not working yet: it does not reach Postgres while the two hold the slots.
    const excess = await Promise.all([1, 2, 3].map((n) => server.api.get(`/api/v1/orders/90000001${n}`)));
    for (const res of excess) {
      isBusy503(res);
      expect(res.body.detail).toMatch(/limit of requests in flight/);
    }
    // Answered while the lock still holds the two in flight: refused at the door, not after waiting their turn.
    expect(await readsWaitingOnTheLock()).toBe(2);
    expect(queuedAnswered).toBe(false);
    // Probes and the scrape stand outside the limit.
    expect((await server.api.get('/healthz')).status).toBe(200);
    expect((await server.api.get('/readyz')).status).toBe(200);
    const metrics = await scrape(`${server.url}/metrics`);
    expect(metrics('orchestrator_api_requests_shed_total', { reason: 'full' })).toBe(3);

    await lock.release();
    // Those in flight finish with the route's own answer (no such order), and the queued one gets its turn.
    for (const res of await Promise.all([...inFlight, queued])) {
      expect(res.status).toBe(404);
      expect(res.body.detail).toMatch(/does not exist/);
    }
  } finally {
    await lock.release();
    await server.close();
  }
}, 120_000);

test('a request still waiting on Postgres at the deadline gets 503 with Retry-After then, and its late answer is dropped quietly', async () => {
  const server = await open({ deadlineMs: 1_000, maxInFlight: 4, maxQueued: 4 });
  const lock = await lockOrders();
  try {
    // The test pool has no statement timeout: without the deadline's answer this request would wait for the lock.
    const res = await server.api.get('/api/v1/orders/900000021');
    isBusy503(res);
    expect(res.body.detail).toMatch(/within its 1000 ms deadline/);
    expect(await readsWaitingOnTheLock()).toBe(1);
    await lock.release();
    // The handler then reads, finds nothing, and tries to answer a response already sent.
    await waitUntil('the late read to finish', async () => (await readsWaitingOnTheLock()) === 0);
    const metrics = await scrape(`${server.url}/metrics`);
    expect(metrics('orchestrator_api_requests_shed_total', { reason: 'deadline' })).toBe(1);
    // Its slot is free again and the API answers as before.
    const after = await server.api.get('/api/v1/orders/900000022');
    expect(after.status).toBe(404);
  } finally {
    await lock.release();
    await server.close();
  }
}, 120_000);
