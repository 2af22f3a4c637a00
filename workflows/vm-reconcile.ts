import { msToNumber } from '@temporalio/common/lib/time';
import {
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { ScheduleActivities } from '../activities/schedules';
import type { VmActivities } from '../activities/vm';
import {
  driftSignal,
  vmWorkflowId,
  type VmReconcileEnd,
  type VmReconcileInput,
  type VmReconcileSummary,
} from '../lib/vm/contract';
import { convergePatch, reconcile } from '../lib/vm/reconcile';
import { describePass, describeReconcile } from '../lib/vm/reconcile-details';
import { describeLost, lostSnapshots, snapshotsLostPatch } from '../lib/vm/snapshots';
import { vm } from './vm-activities';

/**
 * The reconciler: every machine in Postgres beside what libvirt reports. Drift is
 * recorded and sent to the machine's own workflow, which looks again and corrects it by
 * its run strategy, in turn with the user's operations. A domain that no machine row
 * names is recorded and logged, never touched: it may be someone else's.
 *
 * A run its Schedule started (`every` set) does not end after its pass: it sleeps `every`
 * and reconciles again, so the Schedule's next ticks are skipped and a pass a minute adds
 * no run to the workflow list. It ends once `runFor` has passed, when its history grows
 * long, or before a pass once its Schedule is paused, deleted or running another run. Its
 * first pass is never held back: a run started by a trigger (not tracked by the Schedule)
 * makes the pass its operator asked for, then sees the Schedule's own run and ends.
 */
type MachineEvent = Parameters<VmActivities['recordReconcile']>[0][number];

// Reads the Schedule only; a server that does not answer for a while fails the run, and the Schedule starts the next.
const schedules = proxyActivities<ScheduleActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 4 },
});

/** Each idle pass adds about 15 events (4 h at one a minute: about 3,600); the run ends well before the server's limits. */
const maxHistoryEvents = 10_000;
/** Marks the runs that loop, so that a run recorded by a one-pass worker replays as one pass. */
const loopPatch = 'vm-reconcile-loop';

export async function vmReconcile(input: VmReconcileInput = {}): Promise<VmReconcileSummary> {
  const { every, schedule } = input;
  // Runs without a Schedule's input (on demand, or recorded before the loop) make one pass, as they always did.
  if (every === undefined || schedule === undefined || !patched(loopPatch)) {
    const { summary, words } = await reconcilePass(1);
    setCurrentDetails(describeReconcile({ kind: 'ended', last: words, passes: 1 }));
    return summary;
  }
  const endsAt = Date.now() + msToNumber(input.runFor ?? '0s');
  let last = await reconcilePass(1);
  let passes = 1;
  // The first pass is never held back; a triggered run, once it has made it, sees the Schedule's own run and ends.
  let why: VmReconcileEnd | null = await schedules.checkSchedule(schedule);
  while (!why) {
    const nextAt = Date.now() + msToNumber(every);
    if (nextAt > endsAt) why = 'time';
    else if (workflowInfo().historyLength > maxHistoryEvents) why = 'history';
    else {
      setCurrentDetails(describeReconcile({ kind: 'waiting', last: last.words, nextAt, endsAt }));
      await sleep(every);
      why = await schedules.checkSchedule(schedule);
      if (!why) last = await reconcilePass(++passes);
    }
  }
  setCurrentDetails(describeReconcile({ kind: 'ended', last: last.words, passes, why }));
  return { ...last.summary, passes, ended: why };
}

/** One pass over every machine; its events' keys name the run and the pass, so each pass records its own. */
async function reconcilePass(pass: number): Promise<{ summary: VmReconcileSummary; words: string }> {
  const { runId } = workflowInfo();
  setCurrentDetails(describeReconcile({ kind: 'passing', pass }));
  const survey = await vm.surveyMachines();
  const events: MachineEvent[] = [];
  const sentTo: string[] = [];
  const summary: VmReconcileSummary = {
    machines: survey.machines.length,
    drifted: 0,
    signalled: 0,
    unattended: 0,
    orphans: [],
  };

  for (const m of survey.machines) {
    const decision = reconcile({
      runStrategy: m.runStrategy,
      desired: m.desired,
      observed: m.observed,
      converge: patched(convergePatch),
      recorded: m.recorded,
    });
    // Runs from before snapshots were compared signalled domain drift only, and replay so.
    const lost =
      m.snapshots && patched(snapshotsLostPatch) ? lostSnapshots(m.snapshots.recorded, m.snapshots.inLibvirt) : [];
    const drift = [decision.drift, lost.length ? describeLost(lost) : undefined].filter(Boolean).join('; ');
    if (!drift) continue;
    summary.drifted++;
    let handled: string;
    try {
      await getExternalWorkflowHandle(vmWorkflowId(m.machineId)).signal(driftSignal, {
        observed: m.observed,
        drift,
        ...(lost.length ? { lostSnapshots: lost } : {}),
      });
      summary.signalled++;
      sentTo.push(vmWorkflowId(m.machineId));
      handled = "sent to the machine's workflow to correct";
    } catch (err) {
      summary.unattended++;
      handled = `left as it is: the machine's workflow is not running (${err instanceof Error ? err.message : err})`;
    }
    events.push({
      machineId: m.machineId,
      type: 'drift',
      outcome: 'drift',
      severity: 'medium',
      message: `reconcile: ${drift}; ${handled}`,
      details: {
        desired: m.desired,
        observed: m.observed,
        runStrategy: m.runStrategy,
        ...(lost.length ? { lostSnapshots: lost } : {}),
      },
      dedupeKey: `reconcile/${runId}/${pass}/${m.machineId}`,
    });
  }

  for (const d of survey.orphans) {
    summary.orphans.push(d.name);
    events.push({
      domainName: d.name,
      type: 'orphan',
      outcome: 'info',
      severity: 'medium',
      message: `domain ${d.name} (${d.uuid}, ${d.state}) is in libvirt but no machine names it; left untouched`,
      details: { uuid: d.uuid, state: d.state },
      // One event per domain, however many passes see it; the log says it every pass.
      dedupeKey: `orphan/${d.uuid}`,
    });
  }

  const words = describePass(summary, sentTo, Date.now());
  setCurrentDetails(words);
  if (events.length) await vm.recordReconcile(events);
  if (summary.orphans.length) log.warn('domains with no machine', { orphans: summary.orphans });
  return { summary, words };
}
