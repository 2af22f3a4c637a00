import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { startAppPart } from '../../scripts/stack/parts';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { stopProcess } from '../../scripts/stack/proc';
import { vmReconcileWorkflowType, vmWorkflowId, type VmReconcileWorkflow } from '../../lib/vm/contract';
import { recordHistory } from '../helpers/histories';
import { apiClient, type ApiResponse } from '../helpers/http';
import { testLibvirtd, virsh } from '../helpers/libvirtd';
import { removeDomains, tinyTemplate, virshDomains, virshState } from '../helpers/vm';
import { waitUntil } from '../helpers/wait';

/**
 * Machines through the real API and worker processes and the stack's libvirtd, checked
 * with virsh, a client no one here wrote: virsh must see exactly the domains and the
 * states the API reports, after every operation; a domain destroyed behind the
 * machine's back is put right by the reconciler according to its run strategy.
 */
const s = stackSettings('test');
const env = appEnv(s);
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
const prefix = `v${process.pid}`;
let uri: string;
let db: PgClient;
let connection: Connection;
let temporal: Client;
let templateId: string;

beforeAll(async () => {
  uri = (await testLibvirtd()).uri;
  await startAppPart(s, 'worker');
  await startAppPart(s, 'api');
  db = new PgClient({ connectionString: env.DATABASE_URL });
  await db.connect();
  connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  temporal = new Client({ connection });
  const res = await api.post('/api/v1/machine-templates', tinyTemplate(`${prefix}-tiny`));
  expect(res.status).toBe(201);
  templateId = res.body.id;
}, 180_000);

afterAll(async () => {
  await removeDomains(uri, prefix);
  await stopProcess(s, 'api');
  await stopProcess(s, 'worker');
  await db?.end();
  await connection?.close();
});

const machine = async (id: string) => (await api.get(`/api/v1/machines/${id}`)).body;

async function create(name: string, runStrategy: string): Promise<string> {
  const res = await api.post('/api/v1/machines', { name, templateId, runStrategy });
  expect(res.status).toBe(201);
  const id = res.body.machine.id as string;
  await waitUntil(`${name} provisioned`, async () => (await machine(id)).status === 'ready');
  return id;
}

/** What the API reports for our machines, as virsh would print it: name → state. */
async function apiDomains(): Promise<Record<string, string>> {
  const res = await api.get(`/api/v1/machines?namePrefix=${prefix}&limit=200`);
  return Object.fromEntries(
    res.body.machines.map((m: { name: string; observedState: string }) => [m.name, m.observedState]),
  );
}

async function act(id: string, action: string, body: object = {}): Promise<ApiResponse> {
  const res = await api.post(`/api/v1/machines/${id}/actions/${action}`, body);
  if (res.status === 202) {
    await waitUntil(`${action} of machine ${id} to finish`, async () => {
      const m = await machine(id);
      return m.events.some((e: { type: string; outcome: string }) => e.type === action && e.outcome !== 'refused');
    });
  }
  return res;
}

test('the API and virsh agree after every operation; refusals and injections never reach libvirt', async () => {
  const name = `${prefix}-web`;
  const id = await create(name, 'Manual');
  expect(await virsh(uri, 'domuuid', name)).toBe((await machine(id)).libvirtUuid);
  expect(await apiDomains()).toEqual(await virshDomains(uri, prefix));

  const taken = await api.post('/api/v1/machines', { name, templateId });
  expect(taken.status).toBe(409);
  expect(taken.body.detail).toBe(`a machine named "${name}" exists already`);

  const before = await virsh(uri, 'list', '--all', '--name');
  for (const bad of [
    { name: `${prefix}-x</name><devices/>`, templateId },
    { name: '--help', templateId },
    { name: `${prefix}-y`, templateId, description: '</description><on_crash>restart</on_crash>' },
    { name: `${prefix}-z`, templateId, metadata: { team: 'a\u0000b' } },
    { name: `${prefix}-z`, templateId, metadata: { 'x"><orch:id>1': 'b' } },
  ]) {
    const res = await api.post('/api/v1/machines', bad);
    expect(res.status).toBe(400);
    expect(res.body.errors?.length).toBeGreaterThan(0);
  }
  expect(await virsh(uri, 'list', '--all', '--name')).toBe(before);
  // A filter outside the rule of owners is refused, not sent to Postgres (which cannot hold a NUL).
  const badFilter = await api.get(`/api/v1/machines?owner=${encodeURIComponent('a\u0000b')}`);
  expect([badFilter.status, badFilter.body.errors?.[0]?.field]).toEqual([400, 'owner']);

  const steps: [string, object, string][] = [
    ['snapshot', { name: 'clean' }, 'running'],
    ['reboot', {}, 'running'],
    ['suspend', {}, 'paused'],
    ['resume', {}, 'running'],
    ['shutdown', { timeoutSeconds: 30 }, 'shutoff'],
    ['resize', { memoryMiB: 256, vcpus: 2 }, 'shutoff'],
    ['start', {}, 'running'],
    ['destroy', {}, 'shutoff'],
    ['revert', { snapshot: 'clean' }, 'running'],
  ];
  for (const [action, body, state] of steps) {
    const res = await act(id, action, body);
    expect([action, res.status]).toEqual([action, expect.any(Number)]);
    expect(res.status === 200 || res.status === 202).toBe(true);
    await waitUntil(`the API to report ${name} ${state} after ${action}`, async () => {
      return (await machine(id)).observedState === state;
    });
    expect([action, await virshState(uri, name)]).toEqual([action, state]);
    expect(await apiDomains()).toEqual(await virshDomains(uri, prefix));
    // The resize is in the definition, so the next boot has it; the revert brings back the snapshot's sizes.
    if (action === 'start')
      expect(await virsh(uri, 'dominfo', name)).toMatch(/CPU\(s\):\s+2\n[^]*Used memory:\s+262144 KiB/);
    if (action === 'revert')
      expect(await virsh(uri, 'dominfo', name)).toMatch(/CPU\(s\):\s+1\n[^]*Used memory:\s+131072 KiB/);
  }
  expect(await virsh(uri, 'snapshot-list', '--domain', name, '--name')).toBe('clean');

  // Impossible now, refused at once with the reason, and nothing changes in libvirt.
  const refused = await api.post(`/api/v1/machines/${id}/actions/resume`, {});
  expect(refused.status).toBe(409);
  expect(refused.body.detail).toBe('resume needs a paused machine; it is running');
  const badArgs = await api.post(`/api/v1/machines/${id}/actions/snapshot`, { name: '--delete' });
  expect(badArgs.status).toBe(400);
  expect(await virshState(uri, name)).toBe('running');

  const detail = await machine(id);
  expect(detail.allowedActions).toEqual(['shutdown', 'destroy', 'reboot', 'suspend', 'snapshot', 'revert', 'resize']);
  expect(detail.snapshots.map((x: { name: string }) => x.name)).toEqual(['clean']);
  expect(detail.workflow).toMatchObject({
    workflowId: vmWorkflowId(id),
    status: 'RUNNING',
    webUiUrl: expect.stringContaining(`/workflows/vm-${id}/`),
  });
  const ok = detail.events.filter((e: { outcome: string }) => e.outcome === 'ok').map((e: { type: string }) => e.type);
  expect(ok.slice(0, 9).reverse()).toEqual(steps.map(([action]) => action));

  // The worker's pool statistics are on its /metrics, beside Temporal's own. They are
  // published on an interval, so wait for the figures to catch up with the operations.
  let metrics = '';
  const acquired = () => Number(/^libvirt_pool_acquired(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
  await waitUntil('the pool statistics to count every operation', async () => {
    metrics = await (await fetch(`http://127.0.0.1:${s.ports.workerMetrics}/metrics`)).text();
    return acquired() > steps.length;
  });
  expect(Number(/^libvirt_pool_size(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  expect(metrics).toMatch(/^libvirt_pool_wait_bucket\{/m);

  const found: string[] = [];
  await waitUntil('the machine to be found by VmName', async () => {
    found.length = 0;
    for await (const wf of temporal.workflow.list({ query: `VmName = "${name}"` })) found.push(wf.workflowId);
    return found.length === 1;
  });
  expect(found).toEqual([vmWorkflowId(id)]);
  await recordHistory(temporal.workflow.getHandle(vmWorkflowId(id)), 'provision-and-operations');

  const del = await api.delete(`/api/v1/machines/${id}`);
  expect([200, 202]).toContain(del.status);
  await waitUntil('the machine deleted', async () => (await machine(id)).status === 'deleted');
  expect(await virshState(uri, name)).toBe('absent');
  expect(await temporal.workflow.getHandle(vmWorkflowId(id)).result()).toEqual({ machineId: id, phase: 'deleted' });
  expect((await api.post(`/api/v1/machines/${id}/actions/start`, {})).status).toBe(404);
  // The name is free again once its machine is deleted.
  expect(await apiDomains()).toEqual(await virshDomains(uri, prefix));
}, 180_000);

test('a domain destroyed behind its back is corrected by run strategy; a stray domain is reported, not touched', async () => {
  const always = await create(`${prefix}-always`, 'Always');
  const manual = await create(`${prefix}-manual`, 'Manual');
  const stray = `${prefix}-stray`;
  await virsh(uri, 'destroy', `${prefix}-always`);
  await virsh(uri, 'destroy', `${prefix}-manual`);
  const xml = `<domain type='test'><name>${stray}</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>`;
  await defineFromText(xml);

  const summary = await temporal.workflow.execute<VmReconcileWorkflow>(vmReconcileWorkflowType, {
    taskQueue: env.TEMPORAL_TASK_QUEUE ?? 'orchestrator',
    workflowId: `vm-reconcile-test-${process.pid}`,
  });
  expect(summary.orphans).toContain(stray);
  // A scheduled pass may have seen (and sent) the drift first; either way it reaches the workflow.
  await waitUntil('Always started again', async () => (await virshState(uri, `${prefix}-always`)) === 'running');
  await waitUntil('the Manual drift recorded', async () =>
    (await machine(manual)).events.some((e: { type: string }) => e.type === 'reconcile'),
  );
  expect(await virshState(uri, `${prefix}-manual`)).toBe('shutoff');
  expect(await virshState(uri, stray)).toBe('shutoff');

  const a = await machine(always);
  expect(a.observedState).toBe('running');
  expect(a.events.find((e: { type: string }) => e.type === 'reconcile').message).toMatch(
    /^expected running, libvirt reports shutoff \(destroyed\).*Always: start it again; start: corrected, now running$/,
  );
  const m = await machine(manual);
  expect(m).toMatchObject({ observedState: 'shutoff', desiredState: 'running' });
  expect(m.events.find((e: { type: string }) => e.type === 'reconcile')).toMatchObject({ outcome: 'drift' });
  const { rows } = await db.query(`SELECT type, message FROM machine_events WHERE domain_name = $1`, [stray]);
  expect(rows).toEqual([{ type: 'orphan', message: expect.stringContaining(`domain ${stray} (`) }]);
  const seen = await virshDomains(uri, prefix);
  delete seen[stray];
  expect(await apiDomains()).toEqual(seen);

  for (const id of [always, manual]) expect([200, 202]).toContain((await api.delete(`/api/v1/machines/${id}`)).status);
  await waitUntil(
    'both deleted',
    async () => (await machine(always)).status === 'deleted' && (await machine(manual)).status === 'deleted',
  );
}, 180_000);

async function defineFromText(xml: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vm-'));
  try {
    writeFileSync(join(dir, 'd.xml'), xml);
    await virsh(uri, 'define', join(dir, 'd.xml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
