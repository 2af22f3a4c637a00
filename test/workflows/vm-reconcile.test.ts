import { driftSignal, progress } from '../../lib/vm/contract';
import { vmReconcile } from '../../workflows';
import { timeSkippingServer } from '../helpers/time-skipping';
import type { MachineRow } from '../helpers/vm-fake';
import { machineInput as input, update, vmTestBed, withReadyMachine, type VmTestBed } from '../helpers/vm-workflow';
import { waitUntil } from '../helpers/wait';

/**
 * Drift on the time-skipping server: vmLifecycle correcting what the reconciler reports,
 * by its run strategy, and vmReconcile comparing every machine with the hypervisor,
 * signalling, reporting and never touching a domain itself.
 */

const env = timeSkippingServer();

test.each([
  ['Always', 'destroyed', ['start'], 'running', 'running'],
  ['RerunOnFailure', 'destroyed', ['start'], 'running', 'running'],
  ['RerunOnFailure', 'shutdown', [], 'shutoff', 'stopped'],
  ['Manual', 'destroyed', [], 'shutoff', 'running'],
] as const)(
  'drift under %s (shut off, reason %s) is corrected by the workflow: %j',
  async (strategy, reason, steps, observed, desired) => {
    const t = await vmTestBed(env());
    const i = input(strategy);
    const name = i.spec.name;
    await withReadyMachine(t, i, async (handle) => {
      t.hv.set(name, 'shutoff', reason);
      const before = t.hv.calls.length;
      await handle.signal(driftSignal, { observed: 'shutoff', drift: 'expected running, libvirt reports shutoff' });
      await waitUntil('the drift handled', () => t.store.events.some((e) => e.type === 'reconcile'));
      expect(t.hv.calls.slice(before)).toEqual(steps.map((s) => `${s} ${name}`));
      expect(await handle.query(progress)).toMatchObject({ observed, desired });
    });
    const event = t.store.events.find((e) => e.type === 'reconcile');
    expect(event?.message).toContain(`expected running, libvirt reports shutoff (${reason})`);
    expect(event?.outcome).toBe(steps.length ? 'ok' : 'drift');
  },
);

test('a machine the user paused whose domain libvirt lost comes back, paused, under Always', async () => {
  const t = await vmTestBed(env());
  const i = input('Always');
  const name = i.spec.name;
  await withReadyMachine(t, i, async (handle) => {
    await update(handle, 'suspend');
    t.hv.domains.delete(name);
    const before = t.hv.calls.length;
    await handle.signal(driftSignal, { observed: 'absent', drift: 'expected paused, libvirt reports absent' });
    await waitUntil('the lost domain redefined and paused', () => t.hv.domains.get(name)?.state === 'paused');
    expect(t.hv.calls.slice(before)).toEqual([`define ${name}`, `start ${name}`, `suspend ${name}`]);
    expect(await handle.query(progress)).toMatchObject({ observed: 'paused', desired: 'paused' });
  });
});

test('a Halted machine is defined but never started, and stopped when found running', async () => {
  const t = await vmTestBed(env());
  const i = input('Halted');
  const name = i.spec.name;
  await withReadyMachine(t, i, async (handle) => {
    expect(t.hv.calls).toEqual([`define ${name}`]);
    t.hv.set(name, 'running', 'booted');
    await handle.signal(driftSignal, { observed: 'running', drift: 'expected stopped' });
    await waitUntil('the drift corrected', () => t.hv.domains.get(name)?.state === 'shutoff');
    expect(t.hv.calls.at(-1)).toBe(`shutdown ${name}`);
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
  const t = await vmTestBed(env(), rows);
  await withReadyMachine(t, a, async () => {
    // b's domain exists but its workflow does not run; a stray domain has no row at all.
    await t.hv.adapter.define(`<domain><name>${b.spec.name}</name><uuid>${b.uuid}</uuid></domain>`);
    await t.hv.adapter.define('<domain><name>stray</name><uuid>11111111-1111-4111-8111-111111111111</uuid></domain>');
    t.hv.set(a.spec.name, 'shutoff', 'destroyed');
    const mutations = t.hv.calls.length;
    const summary = await env().client.workflow.execute(vmReconcile, {
      taskQueue: t.taskQueue,
      workflowId: `vm-reconcile-${a.spec.machineId}`,
    });
    expect(summary).toEqual({ machines: 2, drifted: 2, signalled: 1, unattended: 1, orphans: ['stray'] });
    await waitUntil("a's workflow started it again", () => t.hv.domains.get(a.spec.name)?.state === 'running');
    expect(t.hv.calls.slice(mutations)).toEqual([`start ${a.spec.name}`]);
    expect(t.hv.domains.has('stray')).toBe(true);
  });
  expect(t.store.events.find((e) => e.domainName === 'stray')).toMatchObject({ type: 'orphan', outcome: 'info' });
  expect(t.store.events.find((e) => e.machineId === b.spec.machineId)?.message).toMatch(
    /^reconcile: expected running, libvirt reports shutoff; left as it is: the machine's workflow is not running/,
  );
});

/**
 * A run as its Schedule starts it, over one machine whose drift no workflow corrects (so
 * every pass finds it) and a Schedule that answers `stops[i]` at its i-th look (0-based):
 * the run's result, how many looks it made, its drift events (one per pass) and its final details.
 */
async function scheduledRun(runFor: '5m' | '4h', stops: Record<number, 'paused' | 'superseded'> = {}) {
  const b = input('Always');
  const row: MachineRow = {
    id: b.spec.machineId,
    name: b.spec.name,
    status: 'ready',
    run_strategy: 'Always',
    desired_state: 'running',
  };
  let looks = 0;
  const t = await vmTestBed(env(), [row], {
    async checkSchedule(scheduleId: string) {
      expect(scheduleId).toBe('vm-reconcile-test');
      return stops[looks++] ?? null;
    },
  });
  await t.hv.adapter.define(`<domain><name>${b.spec.name}</name><uuid>${b.uuid}</uuid></domain>`);
  const handle = await env().client.workflow.start(vmReconcile, {
    taskQueue: t.taskQueue,
    workflowId: `vm-reconcile-loop-${b.spec.machineId}`,
    args: [{ every: '1m', runFor, schedule: 'vm-reconcile-test' }],
  });
  return t.worker.runUntil(async () => {
    const result = await handle.result();
    const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    const { runId } = await handle.describe();
    const drift = t.store.events.filter((e) => e.machineId === b.spec.machineId && e.type === 'drift');
    return { result, looks, drift, details: currentDetails, oneRun: runId === handle.firstExecutionRunId };
  });
}

test("a scheduled run reconciles every interval in one run, a pass's events keyed apart, and ends once runFor has passed", async () => {
  // Passes at 0, 1, ..., 4 minutes (and the few milliseconds each pass takes): a sixth would start past 5 minutes.
  const { result, looks, drift, details, oneRun } = await scheduledRun('5m');
  expect(result).toMatchObject({ machines: 1, drifted: 1, unattended: 1, passes: 5, ended: 'time' });
  expect(oneRun).toBe(true);
  // After the first pass, then before each of the four others.
  expect(looks).toBe(5);
  // One drift event a pass: a key the passes shared would have kept only the first.
  expect(drift).toHaveLength(5);
  expect(details).toMatch(
    /^1 machine checked, 1 drift reported only \(no workflow running\) at \d\d:\d\d:\d\d UTC; ended after 5 passes \(ran its time/,
  );
});

test('a paused Schedule ends the run before its next pass, saying so', async () => {
  const { result, looks, drift, details } = await scheduledRun('4h', { 2: 'paused' });
  expect(result).toMatchObject({ passes: 2, ended: 'paused' });
  expect(looks).toBe(3);
  expect(drift).toHaveLength(2);
  expect(details).toMatch(/; ended after 2 passes \(the Schedule is paused or gone\)$/);
});

test('a triggered run makes its pass at once, then ends when it sees the Schedule run another', async () => {
  const { result, looks, drift, details } = await scheduledRun('4h', { 0: 'superseded' });
  expect(result).toMatchObject({ passes: 1, ended: 'superseded' });
  expect(looks).toBe(1);
  expect(drift).toHaveLength(1);
  expect(details).toMatch(/ended after 1 pass \(another run of the Schedule reconciles\)$/);
});

describe('snapshots libvirt no longer has', () => {
  const rowOf = (i: ReturnType<typeof input>): MachineRow => ({
    id: i.spec.machineId,
    name: i.spec.name,
    status: 'ready',
    run_strategy: i.spec.runStrategy,
    desired_state: 'running',
  });
  const pass = (t: VmTestBed, id: string) =>
    env().client.workflow.execute(vmReconcile, { taskQueue: t.taskQueue, workflowId: `vm-reconcile-snap-${id}` });

  test('are marked lost in one pass after libvirt forgot the domain; a revert to one is refused; the next pass agrees', async () => {
    const i = input('Always');
    const name = i.spec.name;
    const t = await vmTestBed(env(), [rowOf(i)]);
    await withReadyMachine(t, i, async (handle) => {
      await update(handle, 'snapshot', { name: 'a' });
      await update(handle, 'snapshot', { name: 'b' });
      // What a restart of the test driver's libvirtd does: the domain and its snapshots are gone.
      t.hv.domains.delete(name);

      const first = await pass(t, `${i.spec.machineId}-1`);
      expect(first).toMatchObject({ drifted: 1, signalled: 1 });
      await waitUntil(
        'the snapshots marked lost',
        async () => (await handle.query(progress)).lostSnapshots.length === 2,
      );
      const seen = await handle.query(progress);
      expect(seen).toMatchObject({ observed: 'running', snapshots: [] });
      expect(seen.lostSnapshots.map((l) => l.name)).toEqual(['a', 'b']);
      expect(t.hv.domains.get(name)?.state).toBe('running');
      expect([...t.store.snapshots.get(i.spec.machineId)!.values()].every((lostAt) => lostAt instanceof Date)).toBe(
        true,
      );

      await expect(update(handle, 'revert', { snapshot: 'a' })).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/^revert refused: snapshot "a" is lost: libvirt no longer has it/) },
      });
      expect(await pass(t, `${i.spec.machineId}-2`)).toMatchObject({ drifted: 0 });

      // A snapshot taken again under the name is a live one.
      await update(handle, 'snapshot', { name: 'a' });
      await update(handle, 'revert', { snapshot: 'a' });
      expect((await handle.query(progress)).lostSnapshots.map((l) => l.name)).toEqual(['b']);
    });
    const drift = t.store.events.find((e) => e.type === 'drift' && e.machineId === i.spec.machineId);
    expect(drift?.message).toMatch(/^reconcile: expected running, libvirt reports absent; snapshots lost: a, b \(/);
    const lost = t.store.events.filter((e) => e.type === 'snapshot-lost');
    expect(lost).toEqual([
      expect.objectContaining({
        outcome: 'drift',
        severity: 'high',
        message: expect.stringMatching(/^snapshots lost: a, b/),
      }),
    ]);
  });

  test('one deleted behind the workflow while the domain runs is marked lost, the domain left alone', async () => {
    const i = input('Always');
    const name = i.spec.name;
    const t = await vmTestBed(env(), [rowOf(i)]);
    await withReadyMachine(t, i, async (handle) => {
      await update(handle, 'snapshot', { name: 'keep' });
      await update(handle, 'snapshot', { name: 'gone' });
      t.hv.domains.get(name)!.snapshots.delete('gone');
      const before = t.hv.calls.length;
      expect(await pass(t, i.spec.machineId)).toMatchObject({ drifted: 1, signalled: 1 });
      await waitUntil(
        'the snapshot marked lost',
        async () => (await handle.query(progress)).lostSnapshots.length === 1,
      );
      expect(await handle.query(progress)).toMatchObject({ snapshots: ['keep'], observed: 'running' });
      expect(t.hv.calls.slice(before)).toEqual([]);
    });
  });
});
