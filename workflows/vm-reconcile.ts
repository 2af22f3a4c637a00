import { getExternalWorkflowHandle, log, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { VmActivities } from '../activities/vm';
import { permanentErrorTypes } from '../lib/errors';
import { driftSignal, vmWorkflowId, type VmReconcileSummary } from '../lib/vm/contract';
import { reconcile } from '../lib/vm/reconcile';

/**
 * One pass of the reconciler (a Schedule starts one a minute): every machine in
 * Postgres beside what libvirt reports. Drift is recorded and sent to the machine's own
 * workflow, which looks again and corrects it by its run strategy, in turn with the
 * user's operations. A domain that no machine row names is recorded and logged, never
 * touched: it may be someone else's.
 */
type MachineEvent = Parameters<VmActivities['recordReconcile']>[0][number];

const vm = proxyActivities<VmActivities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '10s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 4,
    nonRetryableErrorTypes: [...permanentErrorTypes],
  },
});

export async function vmReconcile(): Promise<VmReconcileSummary> {
  const { runId } = workflowInfo();
  setCurrentDetails('surveying the machines in Postgres and the domains in libvirt');
  const survey = await vm.surveyMachines();
  const events: MachineEvent[] = [];
  const summary: VmReconcileSummary = {
    machines: survey.machines.length,
    drifted: 0,
    signalled: 0,
    unattended: 0,
    orphans: [],
  };

  for (const m of survey.machines) {
    const decision = reconcile({ runStrategy: m.runStrategy, desired: m.desired, observed: m.observed });
    if (!decision.drift) continue;
    summary.drifted++;
    let handled: string;
    try {
      await getExternalWorkflowHandle(vmWorkflowId(m.machineId)).signal(driftSignal, {
        observed: m.observed,
        drift: decision.drift,
      });
      summary.signalled++;
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
      message: `reconcile: ${decision.drift}; ${handled}`,
      details: { desired: m.desired, observed: m.observed, runStrategy: m.runStrategy },
      dedupeKey: `reconcile/${runId}/${m.machineId}`,
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

  setCurrentDetails(
    `${summary.machines} machines checked: ${summary.drifted} drifted (${summary.signalled} sent to their ` +
      `workflows, ${summary.unattended} with no workflow running), ${summary.orphans.length} domains no machine names` +
      (summary.orphans.length ? ` (${summary.orphans.join(', ')})` : ''),
  );
  if (events.length) await vm.recordReconcile(events);
  if (summary.orphans.length) log.warn('domains with no machine', { orphans: summary.orphans });
  return summary;
}
