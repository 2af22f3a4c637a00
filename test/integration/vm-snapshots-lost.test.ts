import { Client, Connection } from '@temporalio/client';
import { stopLibvirtd } from '../../scripts/stack/libvirtd';
import { appEnv, startAppPart, stackSettings } from '../../scripts/stack/parts';
import { stopProcess } from '../../scripts/stack/proc';
import { startPart } from '../../scripts/stack/stack';
import { vmReconcileWorkflowType, type VmReconcileWorkflow } from '../../lib/vm/contract';
import { apiClient } from '../helpers/http';
import { testLibvirtd, virsh } from '../helpers/libvirtd';
import { removeDomains, tinyTemplate, virshState } from '../helpers/vm';
import { waitUntil } from '../helpers/wait';

/**
 * A restart of the stack's libvirtd (test driver) forgets every domain and its
 * snapshots. One reconcile pass later the machine runs again and its record agrees with
 * libvirt: the snapshot it listed is shown lost, with when that was noticed, and a
 * revert to it is refused with that reason.
 */
const s = stackSettings('test');
const env = appEnv(s);
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
const prefix = `l${process.pid}`;
let uri: string;
let connection: Connection;
let temporal: Client;

beforeAll(async () => {
  uri = (await testLibvirtd()).uri;
  await startAppPart(s, 'worker');
  await startAppPart(s, 'api');
  connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  temporal = new Client({ connection });
}, 180_000);

afterAll(async () => {
  await removeDomains(uri, prefix);
  await stopProcess(s, 'api');
  await stopProcess(s, 'worker');
  await connection?.close();
});

const machine = async (id: string) => (await api.get(`/api/v1/machines/${id}`)).body;
type Snapshot = { name: string; lost: boolean; lostAt: string | null };
type Event = { type: string; outcome: string; message: string };

test('after libvirtd restarts, one reconcile pass marks the snapshot lost; a revert to it is refused', async () => {
  const template = await api.post('/api/v1/machine-templates', tinyTemplate(`${prefix}-tiny`));
  expect(template.status).toBe(201);
  const name = `${prefix}-web`;
  const created = await api.post('/api/v1/machines', { name, templateId: template.body.id, runStrategy: 'Always' });
  expect(created.status).toBe(201);
  const id = created.body.machine.id as string;
  await waitUntil(`${name} provisioned`, async () => (await machine(id)).status === 'ready');
  expect((await api.post(`/api/v1/machines/${id}/actions/snapshot`, { name: 'before-upgrade' })).status).toBe(200);
  expect(await virsh(uri, 'snapshot-list', '--domain', name, '--name')).toBe('before-upgrade');

  await stopLibvirtd(s);
  await startPart(s, 'libvirtd');
  expect(await virshState(uri, name)).toBe('absent');

  const noticedAfter = new Date().toISOString();
  await temporal.workflow.execute<VmReconcileWorkflow>(vmReconcileWorkflowType, {
    taskQueue: env.TEMPORAL_TASK_QUEUE ?? 'orchestrator',
    workflowId: `vm-reconcile-snapshots-${process.pid}`,
  });
  // The pass hands the loss to the machine's workflow, which looks again and marks it.
  await waitUntil('the snapshot shown lost', async () => (await machine(id)).snapshots.some((x: Snapshot) => x.lost));
  await waitUntil('the domain running again', async () => (await virshState(uri, name)) === 'running');

  const m = await machine(id);
  expect(m.snapshots).toEqual([
    expect.objectContaining({ name: 'before-upgrade', lost: true, lostAt: expect.any(String) }),
  ]);
  expect(m.snapshots[0].lostAt >= noticedAfter).toBe(true);
  expect(m.events.filter((e: Event) => e.type === 'snapshot-lost')).toEqual([
    expect.objectContaining({ outcome: 'drift', message: expect.stringMatching(/^snapshot lost: before-upgrade/) }),
  ]);
  expect(await virsh(uri, 'snapshot-list', '--domain', name, '--name')).toBe('');

  const revert = await api.post(`/api/v1/machines/${id}/actions/revert`, { snapshot: 'before-upgrade' });
  expect(revert.status).toBe(409);
  expect(revert.body.detail).toMatch(/^revert refused: snapshot "before-upgrade" is lost: libvirt no longer has it/);

  expect([200, 202]).toContain((await api.delete(`/api/v1/machines/${id}`)).status);
  await waitUntil('deleted', async () => (await machine(id)).status === 'deleted');
}, 180_000);
