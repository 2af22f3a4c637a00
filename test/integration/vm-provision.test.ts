import { temporal as proto } from '@temporalio/proto';
import { startAppPart } from '../../scripts/stack/parts';
import { stackSettings } from '../../scripts/stack/parts';
import { isAlive, killProcess, runningPid, stopProcess } from '../../scripts/stack/proc';
import { vmError } from '../../lib/vm/errors';
import { machineSpecSchema } from '../../lib/vm/validate';
import { operationUpdates, vmStartOptions, vmWorkflowType, type VmLifecycleWorkflow } from '../../lib/vm/contract';
import { listEvents } from '../../store/vm/events';
import { getMachine, insertMachine } from '../../store/vm/machines';
import { insertTemplate, type TemplateRecord } from '../../store/vm/templates';
import { recordHistory } from '../helpers/histories';
import { testLibvirtd, virsh } from '../helpers/libvirtd';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { removeDomains, tinyTemplate, virshDomains } from '../helpers/vm';
import { waitUntil } from '../helpers/wait';

/**
 * Provisioning on the real stack: a worker process killed with SIGKILL while its define
 * is in flight (held by freezing libvirtd), then started again, leaves the machine
 * running with exactly one domain; a start that fails is undone (the domain removed, the
 * machine marked failed with the reason).
 */
const s = stackSettings('test');
const prefix = `p${process.pid}`;
let stack: StackHandles;
let uri: string;
let template: TemplateRecord;

beforeAll(async () => {
  uri = (await testLibvirtd()).uri;
  stack = await connectStack();
  const { name, ...t } = tinyTemplate(`${prefix}-tiny`);
  template = (await insertTemplate(stack.pool, name, t as never))!;
}, 60_000);

afterAll(async () => {
  const libvirtd = runningPid(s, 'libvirtd');
  if (libvirtd) process.kill(libvirtd, 'SIGCONT');
  await removeDomains(uri, prefix);
  await stopProcess(s, 'worker');
  await stack?.close();
});

async function newMachine(name: string, taskQueue: string) {
  const row = (await insertMachine(stack.pool, { name, templateId: template.id, runStrategy: 'Always' }))!;
  const spec = machineSpecSchema.parse({
    machineId: row.id,
    name,
    runStrategy: 'Always',
    template: template.template,
  });
  const options = vmStartOptions({ spec, uuid: row.libvirtUuid }, template.name);
  const handle = await stack.client.workflow.start<VmLifecycleWorkflow>(vmWorkflowType, { taskQueue, ...options });
  return { row, handle };
}

const started = proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

test('a worker SIGKILLed mid-define: after a restart the machine runs, with exactly one domain', async () => {
  const name = `${prefix}-crash`;
  await startAppPart(s, 'worker');
  const libvirtd = runningPid(s, 'libvirtd')!;
  // Frozen, libvirtd holds every call made to it: the define cannot finish until it thaws.
  process.kill(libvirtd, 'SIGSTOP');
  let frozen = true;
  try {
    const { row, handle } = await newMachine(name, stack.config.temporal.taskQueue);
    await waitUntil('the define to be in flight on the worker', async () => {
      const { raw } = await handle.describe();
      return (raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'defineMachine' && a.state === started);
    });
    const pid = killProcess(s, 'worker');
    expect(pid).toBeDefined();
    await waitUntil('the worker to die', () => !isAlive(pid!));
    process.kill(libvirtd, 'SIGCONT');
    frozen = false;

    await startAppPart(s, 'worker');
    // The dead worker's attempt times out on its heartbeat; the retry defines the same domain again.
    await waitUntil(
      'the machine ready and running',
      async () => {
        const m = await getMachine(stack.pool, row.id);
        return m?.status === 'ready' && m.observedState === 'running';
      },
      { timeoutMs: 90_000 },
    );
    expect(await virshDomains(uri, prefix)).toEqual({ [name]: 'running' });
    expect(await virsh(uri, 'domuuid', name)).toBe(row.libvirtUuid);
    const events = await listEvents(stack.pool, row.id, 50);
    expect(events.filter((e) => e.outcome === 'ok').map((e) => e.type)).toEqual(['provision', 'start', 'define']);

    await handle.executeUpdate(operationUpdates.delete, { args: [{}] });
    expect(await handle.result()).toEqual({ machineId: row.id, phase: 'deleted' });
    expect(await virshDomains(uri, prefix)).toEqual({});
  } finally {
    if (frozen) process.kill(libvirtd, 'SIGCONT');
  }
}, 180_000);

test('a start that fails is undone: no domain left, the machine failed with the reason', async () => {
  const name = `${prefix}-undo`;
  const taskQueue = uniqueTaskQueue('vm-undo');
  const worker = await stackWorker(stack, {
    taskQueue,
    activities: {
      // The hypervisor refusing the boot, as one that lacks a device would: not worth a retry.
      startMachine: async () => {
        throw vmError('RESOURCE_CONFLICT', `start on "${name}" failed: no room on the host for this machine`);
      },
    },
  });
  await worker.runUntil(async () => {
    const { row, handle } = await newMachine(name, taskQueue);
    await expect(handle.result()).rejects.toMatchObject({
      cause: { type: 'ProvisionFailed', message: expect.stringContaining('no room on the host') },
    });
    expect(await virshDomains(uri, prefix)).toEqual({});
    expect(await getMachine(stack.pool, row.id)).toMatchObject({
      status: 'failed',
      observedState: 'absent',
      lastError: `start on "${name}" failed: no room on the host for this machine`,
    });
    const events = (await listEvents(stack.pool, row.id, 50)).reverse();
    expect(events.map((e) => [e.type, e.outcome])).toEqual([
      ['define', 'ok'],
      ['undefine', 'ok'],
      ['provision', 'error'],
    ]);
    expect(events[2]).toMatchObject({ code: 'RESOURCE_CONFLICT', severity: 'high' });
    await recordHistory(handle, 'compensation');
  });
}, 120_000);
