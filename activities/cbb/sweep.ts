import { Context } from '@temporalio/activity';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { correlationMemoKey } from '../../lib/correlation';
import type { Pool } from '../../lib/infra/db';
import { scheduleStop } from '../../lib/infra/schedules';
import { errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/infra/logger';
import * as store from '../../store/cbb/orders';
import { runtimeCbbMetrics, type CbbMetrics } from './metrics';
import {
  cbbSyncStartOptions,
  cbbSyncWorkflowType,
  noSweepTotals,
  type CbbSweepTotals,
  type SweepStop,
  type CbbSyncWorkflow,
} from '../../lib/cbb/contract';

export interface SweepChunk {
  /** Orders with a greater id are swept. */
  afterId: string;
  maxOrders: number;
  concurrency: number;
  pageSize: number;
  /** A Schedule whose pause means: sweep nothing and say so. */
  schedule?: string;
}

export interface SweepChunkResult {
  /** Every pending order up to this id has had its sync run. */
  cursor: string;
  /** False when the chunk stopped at maxOrders and more orders may be pending. */
  exhausted: boolean;
  totals: CbbSweepTotals;
  /** Nothing was swept: the chunk's Schedule is paused (or gone), or runs another sweep now. */
  stop?: SweepStop;
}

/** What a heartbeat carries, so a retried chunk resumes where the crashed one was. */
interface SweepCheckpoint {
  cursor: string;
  handled: number;
  totals: CbbSweepTotals;
}

/**
 * Runs `cbbSyncOrder` for up to `maxOrders` pending orders, `concurrency` at a time: a
 * sliding window, the next sync starts as soon as one ends. The syncs are started by a
 * client on the worker's own connection, so the server hands each one's first workflow
 * task straight back to this worker (eager start): no task queue round trip, no reload
 * of the run, and no child bookkeeping in the sweep's history. That is most of what a
 * sync costs the server, and the server bounds the throughput (docs/cbb-sync.md).
 * But eager start pins every sync to this worker: while other worker processes poll the
 * task queue too, the syncs go through the task queue instead, and every worker takes
 * its share (`eagerWhileAlone`).
 *
 * Heartbeats carry the id below which every sync has ended. A retry after a crash
 * resumes there: orders synced since are no longer pending, and a sync still running
 * is joined, not started twice.
 */
class WorkerStopping extends Error {}

/** How often a chunk looks again at who polls its task queue: a worker that joins gets syncs within this. */
const pollersCheckMs = 10_000;

/**
 * Whether this worker process is the only one polling the task queue's workflow tasks,
 * as the server sees its pollers (an identity is `<pid>@<host>`). The server remembers a
 * poller for a few minutes after its last poll: a worker that left keeps the syncs off
 * eager start for that long, which costs the server a little more, never a sync.
 */
async function aloneOnTaskQueue(client: Client, taskQueue: string): Promise<boolean> {
  const identity = client.options.identity;
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const others = (res.pollers ?? []).filter((p) => p.identity && p.identity !== identity);
  return others.length === 0;
}

export function createSweepActivities({
  pool,
  client,
  log,
  stopping,
  metrics = runtimeCbbMetrics,
}: {
  pool: Pool;
  client: Client;
  log: Logger;
  stopping: AbortSignal;
  metrics?: CbbMetrics;
}) {
  return {
    runCbbSyncs: async (chunk: SweepChunk): Promise<SweepChunkResult> => {
      const ctx = Context.current();
      const { taskQueue, workflowExecution } = ctx.info;
      // A scheduled run sweeps again every minute while idle; a pause of its Schedule ends it here.
      const verdict = chunk.schedule
        ? await scheduleStop(client, chunk.schedule, workflowExecution?.workflowId ?? '')
        : undefined;
      if (verdict) return { cursor: chunk.afterId, exhausted: true, totals: noSweepTotals(), stop: verdict };
      // The syncs of one sweep share its workflow id as their correlation id, on each of their log lines.
      const correlationId = workflowExecution?.workflowId ?? 'cbb-sweep';
      // Counted as it starts, so a Schedule that fires shows even when a chunk runs long.
      metrics.sweepChunk();
      const resumed = ctx.info.heartbeatDetails as SweepCheckpoint | undefined;
      const totals = resumed?.totals ?? noSweepTotals();
      let handled = resumed?.handled ?? 0;
      let settledTo = resumed?.cursor ?? chunk.afterId;
      let listedTo = settledTo;
      if (resumed) log.info({ cursor: settledTo, handled }, 'CBB sweep chunk resumed from its last heartbeat');

      // Eager start while this worker is alone on the task queue; looked at again every pollersCheckMs.
      let eager = true;
      const lookAtPollers = () =>
        aloneOnTaskQueue(client, taskQueue).then(
          (alone) => void (eager = alone),
          (err: unknown) => log.warn({ err: errorMessage(err) }, 'could not list the task queue pollers'),
        );
      await lookAtPollers();
      const looking = setInterval(() => void lookAtPollers(), pollersCheckMs);

      // Started syncs in id order; the checkpoint moves past a prefix once all of it has ended.
      const started: { id: string; ended: boolean }[] = [];
      const window = new Set<Promise<void>>();
      let failure: unknown;
      // Syncs handed back to a stopping worker's next chunk end after this one has returned: no heartbeat then.
      let returned = false;
      const settle = () => {
        while (started.length > 0 && started[0].ended) settledTo = started.shift()!.id;
        if (!returned) ctx.heartbeat({ cursor: settledTo, handled, totals } satisfies SweepCheckpoint);
      };

      const sync = async (orderId: string): Promise<void> => {
        const options = cbbSyncStartOptions(orderId, 'sweep');
        const { workflowId } = options;
        let handle: WorkflowHandle<CbbSyncWorkflow>;
        try {
          handle = await client.workflow.start<CbbSyncWorkflow>(cbbSyncWorkflowType, {
            ...options,
            taskQueue,
            memo: { [correlationMemoKey]: correlationId },
            requestEagerStart: eager,
          });
          totals.started++;
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          handle = client.workflow.getHandle(workflowId);
          totals.joined++;
        }
        try {
          await handle.result();
          totals.synced++;
        } catch (err) {
          // The order stays pending with its reason; the next sweep tries it again.
          if (!(err instanceof WorkflowFailedError)) throw err;
          totals.notSynced++;
        }
      };

      const launch = (orderId: string) => {
        const entry = { id: orderId, ended: false };
        started.push(entry);
        const p: Promise<void> = sync(orderId)
          .then(() => {
            entry.ended = true;
            settle();
          })
          .catch((err: unknown) => {
            failure ??= err;
          })
          .finally(() => window.delete(p));
        window.add(p);
        handled++;
        listedTo = orderId;
      };

      // A worker that is shutting down hands the chunk back at once rather than after its
      // grace time: the next chunk, on another worker, joins the syncs still running.
      let onStop = () => {};
      const stop = new Promise<never>((_, reject) => {
        onStop = () => reject(new WorkerStopping());
        stopping.addEventListener('abort', onStop, { once: true });
      });
      stop.catch(() => undefined);

      // Waits for a free slot, or for every sync with `until: 0`; stops at the first failure, a cancel or a shutdown.
      const drain = async (until: number) => {
        if (stopping.aborted) throw new WorkerStopping();
        while (window.size > until && failure === undefined) await Promise.race([...window, ctx.cancelled, stop]);
        if (failure !== undefined) {
          log.warn(
            { err: errorMessage(failure), cursor: settledTo },
            'CBB sweep chunk failed; a retry resumes from its checkpoint',
          );
          throw failure;
        }
      };

      const sweep = async (): Promise<SweepChunkResult> => {
        for (;;) {
          const limit = Math.min(chunk.pageSize, chunk.maxOrders - handled);
          if (limit <= 0) {
            await drain(0);
            return { cursor: listedTo, exhausted: false, totals };
          }
          const ids = await store.pendingOrderIds(pool, listedTo, limit);
          for (const id of ids) {
            await drain(chunk.concurrency - 1);
            launch(id);
          }
          if (ids.length < limit) {
            await drain(0);
            return { cursor: listedTo, exhausted: true, totals };
          }
        }
      };

      // Heartbeats also go out while no sync ends (all of them waiting out a Retry-After, say).
      const beating = setInterval(settle, 5_000);
      try {
        return await sweep();
      } catch (err) {
        if (!(err instanceof WorkerStopping)) throw err;
        log.info({ cursor: settledTo, running: window.size }, 'worker stopping: CBB sweep chunk handed back');
        return { cursor: settledTo, exhausted: false, totals };
      } finally {
        returned = true;
        clearInterval(beating);
        clearInterval(looking);
        stopping.removeEventListener('abort', onStop);
      }
    },
  };
}

export type CbbSweepActivities = ReturnType<typeof createSweepActivities>;
