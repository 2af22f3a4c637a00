import { patched } from '@temporalio/workflow';
import type { DriftReport } from '../lib/vm/contract';
import { convergePatch, reconcile } from '../lib/vm/reconcile';
import { lostSnapshots, markLost, snapshotsLostPatch } from '../lib/vm/snapshots';
import { correctiveCall, vm } from './vm-activities';
import type { Machine } from './vm-machine';

/**
 * A drift correction, run by the machine's own workflow when the reconciler reports drift,
 * in its turn after the operations accepted before it. The report is only a cue: the
 * machine is looked at again, since an operation in the queue may have changed it since
 * the reconciler's pass.
 */

export async function correctDrift(m: Machine, report: DriftReport): Promise<void> {
  if (m.s.phase !== 'ready') return;
  await correctDomain(m, report);
  // Runs from before snapshots were checked made no such calls, so their histories replay.
  if (patched(snapshotsLostPatch)) await settleSnapshots(m);
}

async function correctDomain(m: Machine, report: DriftReport): Promise<void> {
  const { s, ref } = m;
  const recorded = s.observed;
  const seen = await vm.observeMachine(ref);
  s.observed = seen.observed;
  const decision = reconcile({
    runStrategy: s.runStrategy,
    desired: s.desired,
    observed: seen.observed,
    reason: seen.reason,
    converge: patched(convergePatch),
    recorded,
  });
  if (!decision.drift) return;
  if (decision.desired) s.desired = decision.desired;
  m.publish(`correcting drift: ${decision.drift}`);
  let outcome = 'corrected';
  try {
    for (const step of decision.steps)
      m.apply(await correctiveCall(step, ref, { uuid: m.input.uuid, spec: m.input.spec }));
  } catch (err) {
    outcome = `correction failed: ${m.noteError(err)}`;
  }
  await vm.recordMachine(
    ref.machineId,
    { desiredState: s.desired },
    {
      type: 'reconcile',
      outcome: outcome === 'corrected' ? (decision.steps.length ? 'ok' : 'drift') : 'error',
      message: `${decision.drift} (reported as ${report.observed}): ${decision.why}${
        decision.steps.length ? `; ${decision.steps.join(', then ')}: ${outcome}, now ${s.observed}` : ''
      }`,
      details: { steps: decision.steps, runStrategy: s.runStrategy },
    },
  );
}

/**
 * Snapshots the machine lists that libvirt does not (the domain was lost with them, or
 * one was deleted behind the workflow's back) are marked lost, looked up afresh rather
 * than taken from the report. A lookup that fails leaves them to the next pass.
 */
async function settleSnapshots(m: Machine): Promise<void> {
  const s = m.s;
  if (!s.snapshots.length) return;
  try {
    const gone = lostSnapshots(s.snapshots, await vm.listMachineSnapshots(m.ref));
    if (!gone.length) return;
    m.publish(`marking lost snapshots: ${gone.join(', ')}`);
    Object.assign(s, markLost(s, await vm.markSnapshotsLost(m.ref, gone)));
  } catch (err) {
    m.noteError(err);
  }
}
