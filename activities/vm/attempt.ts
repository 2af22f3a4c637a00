import { Context } from '@temporalio/activity';

/**
 * What each VM activity attempt does around its work: it heartbeats, so a worker that dies
 * mid-call is noticed within the heartbeat timeout and the call retried elsewhere, and it
 * keys the events it writes, so a retried write cannot insert them twice.
 */

/** Calls `fn` while heartbeating once a second. */
export async function heartbeating<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 1000);
  try {
    return await fn(ctx);
  } finally {
    clearInterval(beat);
  }
}

/** The key that makes an event written twice by the same activity attempt (or its retry, for success) one row. */
export function dedupeKey(outcome: 'ok' | 'error'): string {
  const { workflowExecution, activityId, attempt } = Context.current().info;
  const base = `${workflowExecution?.workflowId}/${workflowExecution?.runId}/${activityId}`;
  return outcome === 'ok' ? `${base}/ok` : `${base}/error/${attempt}`;
}
