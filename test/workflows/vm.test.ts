import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { driftSignal, operationUpdates, progress, vmWorkflowId, type VmLifecycleInput } from '../../lib/vm/contract';
import type { RunStrategy } from '../../lib/vm/validate';
import { vmLifecycle, vmReconcile } from '../../workflows';
import { activityInterceptors } from '../../workers/interceptors';
import { timeSkippingEnv, testWorker, uniqueTaskQueue } from '../helpers/time-skipping';
import {
  fakeHypervisor,
  fakeMachineStore,
  fakeVmActivities,
  type FakeHypervisor,
  type MachineRow,
} from '../helpers/vm-fake';
import { waitUntil } from '../helpers/wait';

/**
 * vmLifecycle and vmReconcile on the time-skipping server, with the real activities over
 * an in-memory hypervisor: every operation, compensation, the order of concurrent
 * updates, continue-as-new and the correction of drift.
 */

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(() => env?.teardown());

let seq = 0;
function input(runStrategy: RunStrategy = 'Manual', extra: Partial<VmLifecycleInput> = {}): VmLifecycleInput {
  seq++;
  return {
    spec: {
      machineId: `${process.pid}x${seq}`,
      name: `web-${seq}`,
      runStrategy,
      template: { vcpus: 1, memoryMiB: 256, os: { arch: 'x86_64' } },
    },
    uuid: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    ...extra,
  };
}

interface Setup {
  hv: FakeHypervisor;
  store: ReturnType<typeof fakeMachineStore>;
  worker: Worker;
  taskQueue: string;
}

async function setup(machines: MachineRow[] = []): Promise<Setup> {
  const hv = fakeHypervisor();
  const store = fakeMachineStore(machines);
  const taskQueue = uniqueTaskQueue('vm');
  const worker = await testWorker(env, {
    taskQueue,
    activities: fakeVmActivities(hv, store),
    interceptors: { activity: [activityInterceptors] },
  });
  return { hv, store, worker, taskQueue };
}

const start = (t: Setup, i: VmLifecycleInput) =>
  env.client.workflow.start(vmLifecycle, {
    taskQueue: t.taskQueue,
    workflowId: vmWorkflowId(i.spec.machineId),
    args: [i],
  });

async function untilReady(handle: WorkflowHandle): Promise<void> {
  await waitUntil('the machine provisioned', async () => (await handle.query(progress)).phase === 'ready');
}

const update = <K extends keyof typeof operationUpdates>(handle: WorkflowHandle, op: K, args: object = {}) =>
  handle.executeUpdate(operationUpdates[op] as typeof operationUpdates.start, { args: [args as never] });

test('provisions (define, then start) and serves every operation, each one recorded', async () => {
  const t = await setup();
  const i = input('Manual');
  const name = i.spec.name;
  await t.worker.runUntil(async () => {
    const handle = await start(t, i);
    await untilReady(handle);
    expect(t.hv.calls).toEqual([`define ${name}`, `start ${name}`]);
    expect(t.hv.domains.get(name)).toMatchObject({ uuid: i.uuid, state: 'running' });

    const steps: [keyof typeof operationUpdates, object, string][] = [
      ['suspend', {}, 'paused'],
      ['resume', {}, 'running'],
      ['reboot', {}, 'running'],
      ['snapshot', { name: 'before' }, 'running'],
      ['resize', { memoryMiB: 512, vcpus: 2 }, 'running'],
      ['shutdown', { timeoutSeconds: 5 }, 'shutoff'],
      ['start', {}, 'running'],
      ['destroy', {}, 'shutoff'],
      ['revert', { snapshot: 'before' }, 'running'],
    ];
    for (const [op, args, observed] of steps) {
      expect(await update(handle, op, args)).toMatchObject({ operation: op, observed });
      expect(t.hv.domains.get(name)?.state).toBe(observed);
    }
    expect(t.hv.domains.get(name)).toMatchObject({ memoryMiB: 512, vcpus: 2 });
    const p = await handle.query(progress);
    expect(p).toMatchObject({ phase: 'ready', observed: 'running', desired: 'running', snapshots: ['before'] });
    expect(p.operations).toBe(steps.length);

    expect(await update(handle, 'delete')).toMatchObject({ operation: 'delete', observed: 'absent' });
    expect(await handle.result()).toEqual({ machineId: i.spec.machineId, phase: 'deleted' });
  });
  expect(t.hv.domains.has(name)).toBe(false);
  expect(t.hv.calls.slice(-2)).toEqual([`destroy ${name}`, `undefine ${name}`]);
  const ok = t.store.events.filter((e) => e.outcome === 'ok').map((e) => e.type);
  expect(ok).toEqual([
    'define',
    'start',
    'provision',
    'suspend',
    'resume',
    'reboot',
    'snapshot',
    'resize',
    'shutdown',
    'start',
    'destroy',
    'revert',
    'undefine',
    'delete',
  ]);
  expect(t.store.fields.get(i.spec.machineId)).toMatchObject({ status: 'deleted', desired_state: 'deleted' });
});

test('an update that arrives with the start waits for provisioning to finish', async () => {
  const t = await setup();
  const i = input();
  const name = i.spec.name;
  // No worker yet: the workflow's first task carries the start and the update together.
  const handle = await start(t, i);
  const early = handle.executeUpdate(operationUpdates.suspend, { args: [{}] });
  await t.worker.runUntil(async () => {
    expect(await early).toMatchObject({ operation: 'suspend', observed: 'paused' });
    expect(t.hv.calls).toEqual([`define ${name}`, `start ${name}`, `suspend ${name}`]);
    await update(handle, 'delete');
    await handle.result();
  });
});

test('an impossible operation is refused at once with the reason, and nothing reaches libvirt', async () => {
  const t = await setup();
  const i = input();
  await t.worker.runUntil(async () => {
    const handle = await start(t, i);
    await untilReady(handle);
    const before = t.hv.calls.length;
    const err = await update(handle, 'resume').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((err as WorkflowUpdateFailedError).cause?.message).toBe('resume needs a paused machine; it is running');
    await expect(update(handle, 'revert', { snapshot: 'nope' })).rejects.toMatchObject({
      cause: { message: expect.stringContaining('"nope" is not one (snapshots: none)') },
    });
    await expect(update(handle, 'snapshot', { name: 'Bad Name' })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/^invalid snapshot: snapshot name must be/) },
    });
    expect(t.hv.calls.length).toBe(before);
    // Refused updates never enter the history: the machine has done nothing since it started.
    expect((await handle.query(progress)).operations).toBe(0);
    await update(handle, 'delete');
    await handle.result();
  });
});

test('a start that fails is compensated: the domain is removed, the machine marked failed with the reason', async () => {
  const t = await setup();
  const i = input();
  const name = i.spec.name;
  // Transient errors are retried (1 s, 2 s, 4 s): four attempts in all, then compensation.
  t.hv.fail('start', 'MACHINE_OPERATION_FAILED', 4);
  await t.worker.runUntil(async () => {
    const handle = await start(t, i);
    await expect(handle.result()).rejects.toMatchObject({
      cause: {
        type: 'ProvisionFailed',
        message: expect.stringContaining(`machine ${name} could not be provisioned: start on "${name}" failed`),
      },
    });
  });
  expect(t.hv.domains.has(name)).toBe(false);
  expect(t.hv.calls).toEqual([`define ${name}`, `undefine ${name}`]);
  const errors = t.store.events.filter((e) => e.type === 'start' && e.outcome === 'error');
  expect(errors.map((e) => e.details?.attempt)).toEqual([1, 2, 3, 4]);
  expect(errors[0]).toMatchObject({ code: 'MACHINE_OPERATION_FAILED', severity: 'high' });
  const provision = t.store.events.find((e) => e.type === 'provision');
  expect(provision).toMatchObject({ outcome: 'error', code: 'MACHINE_OPERATION_FAILED' });
  expect(provision?.message).toMatch(
    /^provisioning failed: start on .* injected MACHINE_OPERATION_FAILED; the domain was removed$/,
  );
  expect(t.store.fields.get(i.spec.machineId)).toMatchObject({ status: 'failed' });
});

test('a define refused as invalid is not retried, and leaves nothing behind', async () => {
  const t = await setup();
  const i = input();
  t.hv.fail('define', 'VALIDATION_ERROR', 1);
  await t.worker.runUntil(async () => {
    const handle = await start(t, i);
    await expect(handle.result()).rejects.toMatchObject({ cause: { type: 'ProvisionFailed' } });
  });
  expect(t.store.events.filter((e) => e.type === 'define').map((e) => e.outcome)).toEqual(['error']);
  expect(t.hv.domains.size).toBe(0);
  expect(t.store.events.at(-1)).toMatchObject({ type: 'provision', code: 'VALIDATION_ERROR', severity: 'high' });
});

test('a transient error is retried and the operation succeeds', async () => {
  const t = await setup();
  const i = input();
  await t.worker.runUntil(async () => {
    const handle = await start(t, i);
    await untilReady(handle);
    t.hv.fail('suspend', 'LIBVIRT_CONNECTION_FAILED', 2);
    expect(await update(handle, 'suspend')).toMatchObject({ observed: 'paused' });
    await update(handle, 'delete');
    await handle.result();
  });
  const suspends = t.store.events.filter((e) => e.type === 'suspend');
  expect(suspends.map((e) => [e.outcome, e.code ?? null])).toEqual([
    ['error', 'LIBVIRT_CONNECTION_FAILED'],
    ['error', 'LIBVIRT_CONNECTION_FAILED'],
    ['ok', null],
  ]);
});

test('updates sent at once run one after the other, in the order they arrived', async () => {
  const t = await setup();
  const i = input();
  const name = i.spec.name;
  await t.worker.runUntil(async () => {
    const handle = await start(t, i);
    await untilReady(handle);
    const release = t.hv.hold('suspend');
    // Both are accepted at once: resume is judged against the paused state suspend leads to.
    const first = await handle.startUpdate(operationUpdates.suspend, {
      args: [{}],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    const second = await handle.startUpdate(operationUpdates.resume, {
      args: [{}],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    await waitUntil('suspend to reach libvirt', () => t.hv.entered('suspend') === 1);
    const p = await handle.query(progress);
    expect(p).toMatchObject({ current: 'suspend', queued: 1 });
    expect(t.hv.entered('resume')).toBe(0);
    // A third, impossible after both (start on a running machine), is refused while they wait.
    await expect(update(handle, 'start')).rejects.toMatchObject({
      cause: { message: 'start needs a machine that is shut off; it is running' },
    });
    release();
    expect(await first.result()).toMatchObject({ operation: 'suspend', observed: 'paused' });
    expect(await second.result()).toMatchObject({ operation: 'resume', observed: 'running' });
    expect(t.hv.calls.slice(2)).toEqual([`suspend ${name}`, `resume ${name}`]);
    await update(handle, 'delete');
    await handle.result();
  });
});

test('continues as new after its operations per run, keeping state and snapshots', async () => {
  const t = await setup();
  const i = input('Manual', { operationsPerRun: 2 });
  await t.worker.runUntil(async () => {
    const handle = await start(t, i);
    await untilReady(handle);
    const firstRun = (await handle.describe()).runId;
    await update(handle, 'snapshot', { name: 'one' });
    await update(handle, 'suspend');
    await waitUntil('a new run', async () => (await handle.describe()).runId !== firstRun);
    expect(await handle.query(progress)).toMatchObject({
      phase: 'ready',
      observed: 'paused',
      desired: 'paused',
      snapshots: ['one'],
      operations: 2,
      continuedRuns: 1,
    });
    // The new run serves operations at once, without provisioning again.
    expect(await update(handle, 'resume')).toMatchObject({ observed: 'running' });
    expect(t.hv.calls.filter((c) => c.startsWith('define'))).toHaveLength(1);
    await update(handle, 'delete');
    await handle.result();
  });
});

test.each([
  ['Always', 'destroyed', ['start'], 'running', 'running'],
  ['RerunOnFailure', 'destroyed', ['start'], 'running', 'running'],
  ['RerunOnFailure', 'shutdown', [], 'shutoff', 'stopped'],
  ['Manual', 'destroyed', [], 'shutoff', 'running'],
] as const)(
  'drift under %s (shut off, reason %s) is corrected by the workflow: %j',
  async (strategy, reason, steps, observed, desired) => {
    const t = await setup();
    const i = input(strategy);
    const name = i.spec.name;
    await t.worker.runUntil(async () => {
      const handle = await start(t, i);
      await untilReady(handle);
      t.hv.set(name, 'shutoff', reason);
      const before = t.hv.calls.length;
      await handle.signal(driftSignal, { observed: 'shutoff', drift: 'expected running, libvirt reports shutoff' });
      await waitUntil('the drift handled', () => t.store.events.some((e) => e.type === 'reconcile'));
      expect(t.hv.calls.slice(before)).toEqual(steps.map((s) => `${s} ${name}`));
      expect(await handle.query(progress)).toMatchObject({ observed, desired });
      await update(handle, 'delete');
      await handle.result();
    });
    const event = t.store.events.find((e) => e.type === 'reconcile');
    expect(event?.message).toContain(`expected running, libvirt reports shutoff (${reason})`);
    expect(event?.outcome).toBe(steps.length ? 'ok' : 'drift');
  },
);

test('a Halted machine is defined but never started, and stopped when found running', async () => {
  const t = await setup();
  const i = input('Halted');
  const name = i.spec.name;
  await t.worker.runUntil(async () => {
    const handle = await start(t, i);
    await untilReady(handle);
    expect(t.hv.calls).toEqual([`define ${name}`]);
    t.hv.set(name, 'running', 'booted');
    await handle.signal(driftSignal, { observed: 'running', drift: 'expected stopped' });
    await waitUntil('the drift corrected', () => t.hv.domains.get(name)?.state === 'shutoff');
    expect(t.hv.calls.at(-1)).toBe(`shutdown ${name}`);
    await update(handle, 'delete');
    await handle.result();
  });
});

test('the reconciler signals drifted machines, reports unattended drift and orphans, and touches no domain itself', async () => {
  const a = input('Always');
  const b = input('Always');
  const rows: MachineRow[] = [a, b].map((i) => ({
    id: i.spec.machineId,
    name: i.spec.name,
    status: 'ready',
    run_strategy: 'Always',
    desired_state: 'running',
  }));
  const t = await setup(rows);
  await t.worker.runUntil(async () => {
    const handle = await start(t, a);
    await untilReady(handle);
    // b's domain exists but its workflow does not run; a stray domain has no row at all.
    await t.hv.adapter.define(`<domain><name>${b.spec.name}</name><uuid>${b.uuid}</uuid></domain>`);
    await t.hv.adapter.define('<domain><name>stray</name><uuid>11111111-1111-4111-8111-111111111111</uuid></domain>');
    t.hv.set(a.spec.name, 'shutoff', 'destroyed');
    const mutations = t.hv.calls.length;
    const summary = await env.client.workflow.execute(vmReconcile, {
      taskQueue: t.taskQueue,
      workflowId: `vm-reconcile-${seq}`,
    });
    expect(summary).toEqual({ machines: 2, drifted: 2, signalled: 1, unattended: 1, orphans: ['stray'] });
    await waitUntil("a's workflow started it again", () => t.hv.domains.get(a.spec.name)?.state === 'running');
    expect(t.hv.calls.slice(mutations)).toEqual([`start ${a.spec.name}`]);
    expect(t.hv.domains.has('stray')).toBe(true);
    await update(handle, 'delete');
    await handle.result();
  });
  expect(t.store.events.find((e) => e.domainName === 'stray')).toMatchObject({ type: 'orphan', outcome: 'info' });
  expect(t.store.events.find((e) => e.machineId === b.spec.machineId)?.message).toMatch(
    /^reconcile: expected running, libvirt reports shutoff; left as it is: the machine's workflow is not running/,
  );
});
