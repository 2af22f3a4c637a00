import {
  ParentClosePolicy,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createCbbActivities } from '../activities/cbb';
import { searchAttributes } from '../lib/search-attributes';
import { cbbSyncOrder, cbbSyncWorkflowId } from './cbb-sync';

/**
 * Pages through pending orders by keyset (id > cursor) and runs `cbbSyncOrder` for
 * each, at most `concurrency` at a time: a sliding window, a new sync as soon as one
 * ends. An order whose sync is already running is joined, not started twice. Large
 * backlogs continue as new every `perRun` orders, so the history stays small.
 */
const { listPendingOrders } = proxyActivities<ReturnType<typeof createCbbActivities>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

export interface CbbSweepInput {
  concurrency: number;
  pageSize?: number;
  perRun?: number;
  /** Carried across continue-as-new. */
  cursor?: string;
  totals?: CbbSweepTotals;
}

export interface CbbSweepTotals {
  started: number;
  joined: number;
  synced: number;
  notSynced: number;
}

export const cbbSweepProgress = defineQuery<CbbSweepTotals & { cursor: string; inFlight: number }>('cbbSweepProgress');

export async function cbbSweep(input: CbbSweepInput): Promise<CbbSweepTotals> {
  const pageSize = input.pageSize ?? 500;
  const perRun = input.perRun ?? 2000;
  const totals: CbbSweepTotals = { ...{ started: 0, joined: 0, synced: 0, notSynced: 0 }, ...input.totals };
  let cursor = input.cursor ?? '0';
  const inFlight = new Set<Promise<void>>();
  setHandler(cbbSweepProgress, () => ({ ...totals, cursor, inFlight: inFlight.size }));

  const run = async (orderId: string) => {
    try {
      const child = await startChild(cbbSyncOrder, {
        workflowId: cbbSyncWorkflowId(orderId),
        args: [{ orderId }],
        // The sync owns its order: it finishes even if the sweep is cancelled or ends.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: searchAttributes.orderId, value: orderId },
          { key: searchAttributes.syncStatus, value: 'syncing' },
        ],
        staticSummary: `CBB sync of order ${orderId} (sweep)`,
      });
      totals.started++;
      await child.result();
      totals.synced++;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) totals.joined++;
      else totals.notSynced++; // the order stays pending with its reason; the next sweep retries it
    }
  };

  let handledThisRun = 0;
  for (;;) {
    const ids = await listPendingOrders(cursor, pageSize);
    for (const id of ids) {
      while (inFlight.size >= input.concurrency) await Promise.race(inFlight);
      const p: Promise<void> = run(id).finally(() => inFlight.delete(p));
      inFlight.add(p);
      cursor = id;
      handledThisRun++;
    }
    if (ids.length < pageSize) break;
    if (handledThisRun >= perRun || workflowInfo().continueAsNewSuggested) {
      await Promise.all(inFlight);
      await continueAsNew<typeof cbbSweep>({ ...input, cursor, totals });
    }
  }
  await Promise.all(inFlight);
  return totals;
}
