import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { applySchedule } from '../../lib/infra/schedules';
import { vmReconcileSchedule, type VmReconcileInput, type VmReconcileSummary } from '../../lib/vm/contract';
import { vmReconcile } from '../../workflows/vm-reconcile';
import { recordHistory } from '../helpers/histories';
import { testLibvirtd } from '../helpers/libvirtd';
import { projectRoot } from '../helpers/paths';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * The reconciler under a Schedule of this file's own on the real server, against the
 * test libvirtd: one run reconciles pass after pass while the Schedule's ticks are
 * skipped; `temporal schedule trigger` (as docs/vm.md uses it) makes a pass at once in a
 * run of its own, which then steps aside; a pause ends the Schedule's run at its next pass.
 */
let stack: StackHandles;
beforeAll(async () => {
  await testLibvirtd();
  stack = await connectStack();
});
afterAll(() => stack?.close());

const temporalCli = (...args: string[]) =>
  promisify(execFile)(join(projectRoot, '.venv', 'bin', 'temporal'), [
    ...args,
    '--address',
    stack.config.temporal.address,
  ]);

/** How many passes a run has begun: each surveys the machines once. */
async function passesOf(handle: WorkflowHandle): Promise<number> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'surveyMachines')
    .length;
}

test('a run without a Schedule makes one pass', async () => {
  const taskQueue = uniqueTaskQueue('it-vm-reconcile-once');
  const worker = await stackWorker(stack, { taskQueue });
  const handle = await stack.client.workflow.start(vmReconcile, { taskQueue, workflowId: `vm-reconcile-${taskQueue}` });
  const summary = await worker.runUntil(handle.result());
  expect(summary.passes).toBeUndefined();
  expect(await passesOf(handle)).toBe(1);
  await recordHistory(handle, 'one-pass');
});

test("the Schedule's run reconciles every interval; a trigger makes a pass at once and steps aside; a pause ends the run", async () => {
  const taskQueue = uniqueTaskQueue('it-vm-reconcile');
  const scheduleId = `vm-reconcile-${taskQueue}`;
  const declared = vmReconcileSchedule({ every: '2s', taskQueue });
  const args: VmReconcileInput[] = [{ ...(declared.args[0] as VmReconcileInput), schedule: scheduleId }];
  const schedule = stack.client.schedule.getHandle(scheduleId);
  const worker = await stackWorker(stack, { taskQueue });
  await applySchedule(stack.client, { ...declared, scheduleId, workflowId: scheduleId, args }, stack.deps.log);
  try {
    await worker.runUntil(async () => {
      let looping = '';
      await waitUntil("the Schedule's run to begin its third pass", async () => {
        looping = (await schedule.describe()).info.runningActions[0]?.workflow.workflowId ?? '';
        return looping !== '' && (await passesOf(stack.client.workflow.getHandle(looping))) >= 3;
      });
      const before = await schedule.describe();
      expect(before.info.recentActions.map((a) => a.action.workflow.workflowId)).toEqual([looping]);
      expect(before.info.numActionsSkippedOverlap).toBeGreaterThan(0);

      // The CLI's default overlap policy (Skip) would drop the trigger while the Schedule's run is open.
      await temporalCli('schedule', 'trigger', '--schedule-id', scheduleId, '--overlap-policy', 'AllowAll');
      let triggered = '';
      await waitUntil('the triggered run to start', async () => {
        const ids = (await schedule.describe()).info.recentActions.map((a) => a.action.workflow.workflowId);
        triggered = ids.find((id) => id !== looping) ?? '';
        return triggered !== '';
      });
      const once = stack.client.workflow.getHandle<typeof vmReconcile>(triggered);
      expect(await once.result()).toMatchObject({ passes: 1, ended: 'superseded' });
      const run = stack.client.workflow.getHandle<typeof vmReconcile>(looping);
      expect((await run.describe()).status.name).toBe('RUNNING');

      await schedule.pause('the test pauses the reconciler');
      const last: VmReconcileSummary = await run.result();
      expect(last).toMatchObject({ ended: 'paused' });
      expect(last.passes).toBeGreaterThanOrEqual(3);
      // Ended before the pass after the pause: no survey beyond the passes it counted.
      expect(await passesOf(run)).toBe(last.passes);
      await recordHistory(run, 'loop-paused');
      await recordHistory(once, 'triggered');
    });
  } finally {
    await schedule.delete();
  }
}, 120_000);
