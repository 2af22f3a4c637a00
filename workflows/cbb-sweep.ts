import { continueAsNew, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createSweepActivities } from '../activities/cbb/sweep';
import { cbbSweepProgress, noSweepTotals, type CbbSweepInput, type CbbSweepTotals } from '../lib/cbb/contract';

/**
 * Runs `cbbSyncOrder` for every pending order, by keyset (id > cursor), at most
 * `concurrency` at a time. The window itself lives in the `runCbbSyncs` activity (see
 * activities/cbb/sweep.ts for why), one chunk of `perRun` orders per run: a larger
 * backlog continues as new from the chunk's cursor, so no history grows with it.
 * A sync that is already running is joined, not started twice.
 */
const { runCbbSyncs } = proxyActivities<ReturnType<typeof createSweepActivities>>({
  // A chunk runs as long as its syncs do, which CBB's retries can stretch; a lost worker is noticed by the heartbeat.
  startToCloseTimeout: '6h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

export async function cbbSweep(input: CbbSweepInput): Promise<CbbSweepTotals> {
  const totals = { ...noSweepTotals(), ...input.totals };
  const cursor = input.cursor ?? '0';
  setHandler(cbbSweepProgress, () => ({ ...totals, cursor }));

  const chunk = await runCbbSyncs({
    afterId: cursor,
    maxOrders: input.perRun ?? 5000,
    concurrency: input.concurrency,
    pageSize: input.pageSize ?? 500,
  });
  for (const k of Object.keys(totals) as (keyof CbbSweepTotals)[]) totals[k] += chunk.totals[k];
  if (chunk.exhausted) return totals;
  return continueAsNew<typeof cbbSweep>({ ...input, cursor: chunk.cursor, totals });
}
