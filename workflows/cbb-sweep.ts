import { msToNumber } from '@temporalio/common/lib/time';
import {
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CbbSweepActivities } from '../activities/cbb/sweep';
import {
  cbbSweepProgress,
  noSweepTotals,
  type CbbSweepInput,
  type CbbSweepTotals,
  type SweepStatus,
} from '../lib/cbb/contract';
import { searchAttributes } from '../lib/search-attributes';
import { describeSweep, type SweepSituation } from '../lib/cbb/sweep-details';

/**
 * Runs `cbbSyncOrder` for every pending order, by keyset (id > cursor), at most
 * `concurrency` at a time. The window itself lives in the `runCbbSyncs` activity (see
 * activities/cbb/sweep.ts for why), one chunk of `perRun` orders per run: a larger
 * backlog continues as new from the chunk's cursor, so no history grows with it.
 * A sync that is already running is joined, not started twice.
 *
 * A run its Schedule started (`every` set) does not end when it finds nothing: it sleeps
 * `every` and sweeps again, so the Schedule's next ticks are skipped and idle minutes add
 * no run to the workflow list. It ends after `idleFor` without work, when the history
 * grows long, when its Schedule is paused, or when the Schedule runs another sweep (a
 * triggered run is not tracked by the Schedule); the Schedule then starts the next.
 */
const { runCbbSyncs } = proxyActivities<CbbSweepActivities>({
  // A chunk runs as long as its syncs do, which CBB's retries can stretch; a lost worker is noticed by the heartbeat.
  startToCloseTimeout: '6h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** Each idle sweep adds about 11 events; the run ends well before the server's limits. */
const maxHistoryEvents = 10_000;

export async function cbbSweep(input: CbbSweepInput): Promise<CbbSweepTotals> {
  const totals = { ...noSweepTotals(), ...input.totals };
  let cursor = input.cursor ?? '0';
  let idleSince = input.idleSince;
  setHandler(cbbSweepProgress, () => ({ ...totals, cursor }));
  // Runs its Schedule started carry SyncStatus and keep it current; others (on demand, a
  // test server without the attribute registered, runs from before) leave it alone.
  let status = workflowInfo().typedSearchAttributes.get(searchAttributes.syncStatus);
  const say = (s: SweepSituation) => {
    setCurrentDetails(describeSweep(s));
    const next: SweepStatus = s.kind === 'sweeping' ? 'sweeping' : s.kind;
    if (status === undefined || status === next) return;
    status = next;
    upsertSearchAttributes([{ key: searchAttributes.syncStatus, value: next }]);
  };

  for (;;) {
    say({ kind: 'sweeping', after: cursor, totals });
    const chunk = await runCbbSyncs({
      afterId: cursor,
      maxOrders: input.perRun ?? 5000,
      concurrency: input.concurrency,
      pageSize: input.pageSize ?? 500,
      schedule: input.schedule,
    });
    for (const k of Object.keys(totals) as (keyof CbbSweepTotals)[]) totals[k] += chunk.totals[k];
    if (!chunk.exhausted) return continueAsNew<typeof cbbSweep>({ ...input, cursor: chunk.cursor, totals, idleSince });
    if (!input.every || chunk.stop) {
      say({ kind: 'ended', why: chunk.stop ?? 'done', totals });
      return totals;
    }
    const now = Date.now();
    idleSince = chunk.totals.started + chunk.totals.joined > 0 ? undefined : (idleSince ?? now);
    const endsAt = (idleSince ?? now) + msToNumber(input.idleFor ?? '0s');
    if (idleSince !== undefined && now >= endsAt) {
      say({ kind: 'ended', why: 'idle', totals });
      return totals;
    }
    if (workflowInfo().historyLength > maxHistoryEvents) {
      say({ kind: 'ended', why: 'history', totals });
      return totals;
    }
    // Orders that failed stay pending below the cursor: every sweep starts from the first id.
    cursor = '0';
    const nextAt = now + msToNumber(input.every);
    if (idleSince !== undefined) say({ kind: 'idle', since: idleSince, nextAt, endsAt, totals });
    await sleep(input.every);
  }
}
