import { WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { operationUpdates, progress } from '../../lib/vm/contract';
import { timeSkippingServer } from '../helpers/time-skipping';
import {
  machineInput as input,
  startMachine as start,
  untilReady,
  update,
  vmTestBed,
  withReadyMachine,
} from '../helpers/vm-workflow';
import { waitUntil } from '../helpers/wait';

/**
 * vmLifecycle on the time-skipping server, with the real activities over an in-memory
 * hypervisor: every operation, compensation, the order of concurrent updates and
 * continue-as-new. Drift and the reconciler: vm-reconcile.test.ts.
 */

const env = timeSkippingServer();

const setup = () => vmTestBed(env());

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
  await withReadyMachine(t, i, async (handle) => {
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
  await withReadyMachine(t, i, async (handle) => {
    t.hv.fail('suspend', 'LIBVIRT_CONNECTION_FAILED', 2);
    expect(await update(handle, 'suspend')).toMatchObject({ observed: 'paused' });
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
  await withReadyMachine(t, i, async (handle) => {
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
  });
});

test('continues as new after its operations per run, keeping state and snapshots', async () => {
  const t = await setup();
  const i = input('Manual', { operationsPerRun: 2 });
  await withReadyMachine(t, i, async (handle) => {
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
  });
});
