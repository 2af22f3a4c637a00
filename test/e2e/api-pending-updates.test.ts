import { Client as PgClient } from 'pg';
import { appEnv, stackSettings, startAppPart } from '../../scripts/stack/parts';
import { stopProcess } from '../../scripts/stack/proc';
import { startPart } from '../../scripts/stack/stack';
import { apiClient, type ApiResponse } from '../helpers/http';
import { testLibvirtd, virsh } from '../helpers/libvirtd';
import { removeDomains, tinyTemplate } from '../helpers/vm';
import { waitUntil } from '../helpers/wait';

/**
 * An operation the API hands to Temporal while no worker runs: Temporal holds the update
 * and runs it when a worker returns, so the API answers 202 with where to follow it, never
 * "unavailable". Followed, it completes once the worker is back, and it ran exactly once,
 * however often the client resent it with its Idempotency-Key. Only when Temporal itself is
 * down, and nothing was handed over, is the answer 503 with Retry-After.
 */
const s = stackSettings('test');
const env = appEnv(s);
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
const prefix = `u${process.pid}`;
let uri: string;
let db: PgClient;
let machineId: string;
let domain: string;

const machine = async () => (await api.get(`/api/v1/machines/${machineId}`)).body;
const snapshots = async () =>
  (await virsh(uri, 'snapshot-list', '--domain', domain, '--name')).split('\n').filter(Boolean);
/** The snapshots the machine's workflow recorded as taken. */
const snapshotsTaken = async () =>
  (
    await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM machine_events WHERE machine_id = $1 AND type = 'snapshot' AND outcome = 'ok'`,
      [machineId],
    )
  ).rows[0].n;

beforeAll(async () => {
  uri = (await testLibvirtd()).uri;
  await startAppPart(s, 'worker');
  await startAppPart(s, 'api');
  db = new PgClient({ connectionString: env.DATABASE_URL });
  await db.connect();
  const template = await api.post('/api/v1/machine-templates', tinyTemplate(`${prefix}-tiny`));
  expect(template.status).toBe(201);
  domain = `${prefix}-m`;
  const created = await api.post('/api/v1/machines', {
    name: domain,
    templateId: template.body.id,
    runStrategy: 'Manual',
  });
  expect(created.status).toBe(201);
  machineId = created.body.machine.id;
  await waitUntil(`${domain} provisioned and running`, async () => {
    const m = await machine();
    return m.status === 'ready' && m.observedState === 'running';
  });
}, 180_000);

afterAll(async () => {
  await removeDomains(uri, prefix);
  await stopProcess(s, 'api');
  await stopProcess(s, 'worker', { graceMs: 60_000 });
  await db?.end();
});

test('with the worker stopped a snapshot is answered 202 with its update, and runs once when the worker returns', async () => {
  await stopProcess(s, 'worker', { graceMs: 60_000 });
  const key = { 'Idempotency-Key': `snap-${process.pid}` };
  const snap = () => api.post(`/api/v1/machines/${machineId}/actions/snapshot`, { name: 'held' }, key);

  const sent = await snap();
  expect(sent.status).toBe(202);
  expect(sent.body).toMatchObject({
    status: 'pending',
    machineId,
    operation: 'snapshot',
    workflowId: `vm-${machineId}`,
    update: 'snapshot',
    updateId: expect.stringMatching(/^snapshot:.*:snap-/),
    follow: { workflow: `/api/v1/machines/${machineId}` },
  });
  expect(['admitted', 'accepted']).toContain(sent.body.stage);
  expect(sent.headers.get('location')).toBe(sent.body.follow.update);
  expect(sent.headers.get('retry-after')).toMatch(/^\d+$/);

  // Still no worker: pending, and a resend with the same key is the same update, not a second one.
  const followed = await api.get(sent.body.follow.update);
  expect([followed.status, followed.body.status]).toEqual([202, 'pending']);
  expect(followed.headers.get('retry-after')).toMatch(/^\d+$/);
  const resent = await snap();
  expect([resent.status, resent.body.updateId]).toEqual([202, sent.body.updateId]);
  expect(await snapshots()).not.toContain('held');

  await startAppPart(s, 'worker');
  let outcome: ApiResponse | undefined;
  await waitUntil('the held snapshot to complete once the worker is back', async () => {
    outcome = await api.get(sent.body.follow.update);
    return outcome.status === 200;
  });
  expect(outcome!.body).toMatchObject({
    status: 'completed',
    workflowId: `vm-${machineId}`,
    updateId: sent.body.updateId,
    result: expect.anything(),
  });

  // Done once: one snapshot in libvirt and one recorded, and a late resend gets the first outcome.
  const again = await snap();
  expect([again.status, again.body.result]).toEqual([200, outcome!.body.result]);
  expect(await snapshots()).toEqual(['held']);
  expect(await snapshotsTaken()).toBe('1');
  expect((await machine()).snapshots.map((x: { name: string }) => x.name)).toEqual(['held']);
}, 240_000);

test('an update Temporal does not hold is a 404 that says to send it again', async () => {
  const res = await api.get(`/api/v1/machines/${machineId}/updates/never-sent`);
  expect(res.status).toBe(404);
  expect(res.body.detail).toMatch(/holds no update never-sent .*send the request again/);
  const generic = await api.get(`/api/v1/workflows/vm-${machineId}/update-outcomes/never-sent`);
  expect(generic.status).toBe(404);
});

test('an admitted update that a Temporal restart lost is a 404 on follow; sent again, it runs once', async () => {
  await stopProcess(s, 'worker', { graceMs: 60_000 });
  const key = { 'Idempotency-Key': `lost-${process.pid}` };
  const snap = () => api.post(`/api/v1/machines/${machineId}/actions/snapshot`, { name: 'lost' }, key);
  const sent = await snap();
  expect([sent.status, sent.body.stage]).toEqual([202, 'admitted']);
  // An update no worker has accepted lives in the server's memory only: nothing of it is in the history yet.
  await stopProcess(s, 'temporal');
  await startPart(s, 'temporal');
  let followed: ApiResponse | undefined;
  await waitUntil('the API to reach Temporal again and follow the update', async () => {
    followed = await api.get(sent.body.follow.update);
    return followed.status !== 503;
  });
  expect(followed!.status).toBe(404);
  expect(followed!.body.detail).toMatch(/lost when Temporal restarted/);

  await startAppPart(s, 'worker');
  await waitUntil('the resent snapshot to complete', async () => (await snap()).status === 200);
  expect(await snapshots()).toContain('lost');
  expect(await snapshotsTaken()).toBe('2');
}, 240_000);

test('with Temporal stopped nothing is handed over: 503 with Retry-After naming the update', async () => {
  await stopProcess(s, 'temporal');
  try {
    const started = Date.now();
    const res = await api.post(`/api/v1/machines/${machineId}/actions/snapshot`, { name: 'outage' });
    const took = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(res.body).toMatchObject({ updateId: expect.any(String) });
    expect(res.body.detail).toMatch(/did not confirm it holds the update/);
    // Within the API's 2 s deadline, with room for a loaded machine; a hung request would wait for Temporal.
    expect(took).toBeLessThan(5_000);
  } finally {
    await startPart(s, 'temporal');
  }
  await waitUntil('the machine to answer operations again after Temporal returns', async () => {
    const res = await api.post(`/api/v1/machines/${machineId}/actions/snapshot`, { name: 'after' });
    return res.status === 200 || res.status === 202;
  });
}, 180_000);
