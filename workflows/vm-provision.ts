import { CancellationScope } from '@temporalio/workflow';
import { vm } from './vm-activities';
import type { Machine } from './vm-machine';

/**
 * A machine's provisioning, vmLifecycle's first job in its queue: define the domain, then
 * start it if it is wanted running. A step that fails leaves nothing behind: what was done
 * is removed, the machine marked failed with why, so the reconciler never finds a
 * half-made domain that no workflow owns.
 */

export async function provisionMachine(m: Machine): Promise<void> {
  const { s, ref } = m;
  m.publish('defining the domain');
  try {
    m.apply(await vm.defineMachine(ref, { uuid: m.input.uuid, spec: m.input.spec }));
    if (s.desired === 'running') {
      m.publish('starting the domain');
      m.apply(await vm.startMachine(ref));
    }
    s.phase = 'ready';
    await vm.recordMachine(
      ref.machineId,
      { status: 'ready', desiredState: s.desired },
      { type: 'provision', outcome: 'ok', message: `provisioned: ${s.observed}` },
    );
    m.publish();
  } catch (err) {
    const why = m.noteError(err);
    // Undo whatever was done, even if this workflow is being cancelled.
    await CancellationScope.nonCancellable(() => undoProvision(m, why));
  }
}

async function undoProvision(m: Machine, why: string): Promise<void> {
  const { s, ref } = m;
  m.publish(`provisioning failed (${why}): removing the domain`);
  let undone = 'the domain was removed';
  try {
    m.apply(await vm.removeDomain(ref));
  } catch (undoErr) {
    undone = `removing the domain failed too (${m.noteError(undoErr)}); the reconciler reports it if it is left`;
  }
  s.phase = 'failed';
  await vm.recordMachine(
    ref.machineId,
    { status: 'failed', lastError: why },
    {
      type: 'provision',
      outcome: 'error',
      code: s.lastError?.code,
      severity: 'high',
      message: `provisioning failed: ${why}; ${undone}`,
    },
  );
  m.publish();
}
