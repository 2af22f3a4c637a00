import { readFileSync, readdirSync, statSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { cbbSweepScheduleId } from '../../lib/cbb/contract';
import { isAlive, logFile, runningPid, stopProcess } from '../../scripts/stack/proc';
import { appEnv, stackSettings, startAppPart } from '../../scripts/stack/parts';
import { startPart } from '../../scripts/stack/stack';
import { getOrder } from '../../store/cbb/orders';
import { createPool, type Pool } from '../../lib/infra/db';
import { orderFixture } from '../helpers/cbb';
import { apiClient } from '../helpers/http';
import { waitUntil } from '../helpers/wait';

/**
 * The API while a dependency is down: an order is accepted once it is committed, whether
 * or not Temporal answers, and synced once Temporal is back; a frozen Postgres is a quick
 * 503 with Retry-After, never a hung request.
 */
const s = stackSettings('test');

function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        // Field 4 of /proc/<pid>/stat is the parent's pid; the command (field 2) may hold spaces, so split after it.
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
      } catch {
        return false;
      }
    })
    .map(Number);
}
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
let pool: Pool;

beforeAll(async () => {
  // A sweep every 10 s, so that "within one sweep interval" is short enough to wait for.
  await stopProcess(s, 'worker', { graceMs: 60_000 });
  await startAppPart(s, 'worker', { CBB_SWEEP_EVERY: '10s' });
  await startAppPart(s, 'api');
  pool = createPool({ database: { url: appEnv(s).DATABASE_URL, poolMax: 2 } });
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await stopProcess(s, 'api');
  await stopProcess(s, 'worker', { graceMs: 60_000 });
});

test('with Temporal stopped an order is committed and answered 201 at once, and synced after Temporal returns', async () => {
  await stopProcess(s, 'temporal');
  let orderId: string;
  try {
    const started = Date.now();
    const res = await api.post('/api/v1/orders', orderFixture({ whatsappAlerts: false }));
    const took = Date.now() - started;
    expect(res.status).toBe(201);
    // Half the API's 2 s deadline goes to the start attempt, the commit before it. The bound is wider than
    // the deadline (a loaded machine adds time around it) and far below an unbounded wait on Temporal.
    expect(took).toBeLessThan(5_000);
    expect(res.body.workflow).toMatchObject({ status: 'queued', workflowId: `cbb-sync-order-${res.body.order.id}` });
    orderId = res.body.order.id;
    expect((await getOrder(pool, orderId))?.cbbStatus).toBe('pending');
  } finally {
    await startPart(s, 'temporal');
  }
  // The test stack keeps the sweep paused (a sweep syncs every file's pending orders); this test is about the sweep.
  const temporal = new Client({ connection: await Connection.connect({ address: appEnv(s).TEMPORAL_ADDRESS }) });
  const sweep = temporal.schedule.getHandle(cbbSweepScheduleId);
  await waitUntil('the worker to have applied the 10 s sweep schedule', async () => {
    const d = await sweep.describe();
    return d.spec.intervals?.[0]?.every === 10_000;
  });
  await sweep.unpause('unpaused by the outage test, which waits for a scheduled sweep');
  try {
    await waitUntil(
      `order ${orderId} to be synced by the sweep after Temporal's return`,
      async () => (await getOrder(pool, orderId))?.cbbStatus === 'synced',
      { timeoutMs: 180_000, intervalMs: 500 },
    );
  } finally {
    await sweep.pause('paused again by the outage test');
    await temporal.connection.close();
  }
}, 300_000);

test('with Postgres frozen, reads and writes get 503 with Retry-After within the deadline, and work again after', async () => {
  const pid = runningPid(s, 'postgres');
  expect(pid).toBeDefined();
  // The postmaster and every backend (each backend leads a process group of its own).
  const frozen = [pid!, ...childrenOf(pid!)];
  for (const p of frozen) process.kill(p, 'SIGSTOP');
  try {
    for (const send of [() => api.get('/api/v1/orders/1'), () => api.post('/api/v1/orders', orderFixture())]) {
      const started = Date.now();
      const res = await send();
      const took = Date.now() - started;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      // The API's deadline is 2 s; a loaded machine adds time around it. A hung request would wait on the
      // frozen Postgres until the freeze ends (the test's 120 s), so 5 s still tells the two apart.
      expect(took).toBeLessThan(5_000);
    }
  } finally {
    for (const p of frozen) process.kill(p, 'SIGCONT');
  }
  expect(isAlive(pid!)).toBe(true);
  await waitUntil('the API to read orders again', async () => {
    const res = await api.post('/api/v1/orders', orderFixture());
    return res.status === 201;
  });
}, 120_000);

test('with Redis stopped, flag routes get 503 with Retry-After within the deadline, logged as one line naming Redis', async () => {
  const apiLog = logFile(s, 'api');
  const logStart = statSync(apiLog).size;
  const outcomes = { outcomes: [{ variant: 'canary', ok: true, latencyMs: 12 }] };
  await stopProcess(s, 'redis');
  try {
    for (const send of [
      () => api.post('/api/v1/flags/outage-test/outcomes', outcomes),
      () => api.get('/api/v1/flags'),
    ]) {
      const started = Date.now();
      const res = await send();
      const took = Date.now() - started;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(res.body.detail).toMatch(/Redis/);
      // Within the API's 2 s deadline, with room for a loaded machine; the unbounded client took 4 s and more.
      expect(took).toBeLessThan(3_000);
    }
  } finally {
    await startPart(s, 'redis');
  }
  const lines = readFileSync(apiLog, 'utf8')
    .slice(logStart)
    .split('\n')
    .filter((l) => l.includes('(Redis)'));
  expect(lines.length).toBeGreaterThanOrEqual(2);
  for (const line of lines) {
    expect(line).not.toMatch(/previousErrors/);
    expect(JSON.parse(line).cause).toMatch(/enableOfflineQueue|Connection is closed|max retries|timed out/i);
  }
  await waitUntil('the API to count outcomes again', async () => {
    const res = await api.post('/api/v1/flags/outage-test/outcomes', outcomes);
    return res.status === 202;
  });
}, 120_000);
