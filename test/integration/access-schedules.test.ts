import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { Server } from 'node:http';
import { Client as PgClient } from 'pg';
import { createApp } from '../../api/app';
import { createMetrics } from '../../api/metrics';
import { cbbSweepSchedule, cbbSweepScheduleId } from '../../lib/cbb/contract';
import { createPool, type Pool } from '../../lib/infra/db';
import { createLogger } from '../../lib/infra/logger';
import { applySchedule } from '../../lib/infra/schedules';
import { migrate } from '../../lib/infra/schema-migrations';
import { createApiKey } from '../../store/access/api-keys';
import { stackSettings } from '../../scripts/stack/parts';
import { venvBin } from '../../scripts/stack/services';
import { connectStack, type StackHandles } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

/**
 * The schedules API against the test stack's Temporal: it lists the CBB sweep, and pause,
 * unpause and trigger change the Schedule as the Temporal CLI (and the Web UI) see it.
 * No worker polls the sweep's queue here, so a triggered run stays open: it shows as one
 * action taken, and is terminated at the end.
 */
const s = stackSettings('test');
const run = promisify(execFile);
const tag = `access_sched_${process.pid}`;
const taskQueue = tag;
const log = createLogger({ log: { level: 'warn', pretty: false } }, 'test');
let stack: StackHandles;
let pool: Pool;
let server: Server;
let base: string;
let admin: PgClient;
let operator: string;
let viewer: string;

async function temporalDescribe(): Promise<{ paused: boolean; actions: number }> {
  const { stdout } = await run(venvBin(s, 'temporal'), [
    'schedule',
    'describe',
    '--schedule-id',
    cbbSweepScheduleId,
    '--address',
    `127.0.0.1:${s.ports.temporal}`,
    '--output',
    'json',
  ]);
  const d = JSON.parse(stdout) as {
    schedule?: { state?: { paused?: boolean } };
    info?: { actionCount?: string | number };
  };
  return { paused: d.schedule?.state?.paused === true, actions: Number(d.info?.actionCount ?? 0) };
}

const call = (method: string, path: string, key: string) =>
  fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    body: method === 'POST' ? '{}' : undefined,
  });

beforeAll(async () => {
  stack = await connectStack();
  const dbUrl = new URL(stack.config.database.url);
  admin = new PgClient({ connectionString: dbUrl.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${tag}`);
  dbUrl.pathname = `/${tag}`;
  await migrate(dbUrl.toString(), 'up', log);
  pool = createPool({ database: { url: dbUrl.toString(), poolMax: 4 } }, log, 'test');
  operator = (await createApiKey(pool, { name: 'operator', scopes: ['schedules:admin'], tier: 'enterprise' })).key;
  viewer = (await createApiKey(pool, { name: 'viewer', scopes: ['schedules:read'], tier: 'enterprise' })).key;
  await applySchedule(
    stack.client,
    cbbSweepSchedule({ every: '1h', concurrency: 1, taskQueue }),
    createLogger({ log: { level: 'warn', pretty: false } }, 'test'),
  );
  // Other files keep the sweep paused (applySchedule keeps a pause); these tests start from a running one.
  await stack.client.schedule.getHandle(cbbSweepScheduleId).unpause('the access tests steer it');
  const app = createApp({
    ...stack.deps,
    config: { ...stack.config, api: { ...stack.config.api, token: undefined } },
    pool,
    client: stack.client,
    metrics: createMetrics(),
    version: 'test',
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  const handle = stack.client.schedule.getHandle(cbbSweepScheduleId);
  const d = await handle.describe().catch(() => undefined);
  for (const a of d?.info.runningActions ?? [])
    await stack.client.workflow
      .getHandle(a.workflow.workflowId)
      .terminate('test over')
      .catch(() => undefined);
  await handle.delete().catch(() => undefined);
  await pool?.end();
  await admin.query(`DROP DATABASE IF EXISTS ${tag} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  await stack.close();
});

test('the list shows the CBB sweep with its workflow type', async () => {
  let listed: { scheduleId: string; workflowType: string; paused: boolean } | undefined;
  await waitUntil('the schedules list to show cbb-sweep', async () => {
    const res = await call('GET', '/api/v1/schedules', viewer);
    if (res.status !== 200) throw new Error(`GET /api/v1/schedules answered ${res.status}`);
    const body = (await res.json()) as { schedules: NonNullable<typeof listed>[] };
    listed = body.schedules.find((x) => x.scheduleId === cbbSweepScheduleId);
    return listed !== undefined;
  });
  expect(listed).toMatchObject({ workflowType: 'cbbSweep', paused: false });
  const one = await call('GET', `/api/v1/schedules/${cbbSweepScheduleId}`, viewer);
  expect(one.status).toBe(200);
  expect(await one.json()).toMatchObject({ scheduleId: cbbSweepScheduleId, taskQueue, every: ['1h'] });
  expect((await call('GET', '/api/v1/schedules/no-such-schedule', viewer)).status).toBe(404);
});

test('schedules:read cannot steer a schedule', async () => {
  const res = await call('POST', `/api/v1/schedules/${cbbSweepScheduleId}/pause`, viewer);
  expect(res.status).toBe(403);
  expect(((await res.json()) as { scope: string }).scope).toBe('schedules:admin');
  expect((await temporalDescribe()).paused).toBe(false);
});

test('pause and unpause show in temporal schedule describe', async () => {
  const paused = await call('POST', `/api/v1/schedules/${cbbSweepScheduleId}/pause`, operator);
  expect(paused.status).toBe(200);
  expect(await paused.json()).toMatchObject({ paused: true });
  expect((await temporalDescribe()).paused).toBe(true);
  const unpaused = await call('POST', `/api/v1/schedules/${cbbSweepScheduleId}/unpause`, operator);
  expect(unpaused.status).toBe(200);
  expect((await temporalDescribe()).paused).toBe(false);
});

test('trigger runs the sweep now: one more action taken', async () => {
  const before = (await temporalDescribe()).actions;
  const res = await call('POST', `/api/v1/schedules/${cbbSweepScheduleId}/trigger`, operator);
  expect(res.status).toBe(202);
  await waitUntil('temporal schedule describe to count the triggered action', async () => {
    return (await temporalDescribe()).actions === before + 1;
  });
  const got = await call('GET', `/api/v1/schedules/${cbbSweepScheduleId}`, operator);
  const d = (await got.json()) as { recentActions: { workflowId: string }[] };
  expect({ status: got.status, d }).toMatchObject({ status: 200 });
  expect(d.recentActions.at(-1)?.workflowId).toMatch(new RegExp(`^${cbbSweepScheduleId}`));
});
