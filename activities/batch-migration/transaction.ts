import { Context } from '@temporalio/activity';
import { releaseClient, type Pool, type PoolClient } from '../../lib/infra/db';
import type { DbLoad } from '../../lib/batch-migration/batching';

/**
 * Runs one batch's transaction while heartbeating, and honours cancellation: when
 * Temporal cancels the activity (the workflow was cancelled, or its heartbeat
 * lapsed), the statement in flight is cancelled on the server, so the transaction
 * rolls back and nothing of the batch is written.
 */
export async function cancellableTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const client = await pool.connect();
  let open = true;
  let failure: unknown;
  const beat = setInterval(() => ctx.heartbeat(), 1000);
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const onAbort = () => {
      if (open) void pool.query('SELECT pg_cancel_backend($1)', [rows[0].pid]).catch(() => undefined);
    };
    ctx.cancellationSignal.addEventListener('abort', onAbort, { once: true });
    try {
      ctx.heartbeat();
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      failure = err;
      await client.query('ROLLBACK').catch(() => undefined);
      // A statement we cancelled surfaces as a query error; report it as the cancellation it is.
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
      throw err;
    } finally {
      open = false;
      ctx.cancellationSignal.removeEventListener('abort', onAbort);
    }
  } finally {
    clearInterval(beat);
    // A failed batch's connection (lost, or cancelled mid-statement) is destroyed, never reused.
    releaseClient(client, failure);
  }
}

/** How busy the database is, sampled after each batch for the workflow's throttle. */
export async function sampleLoad(pool: Pool): Promise<DbLoad> {
  const { rows } = await pool.query<{ active: number; lock_waits: number }>(
    `SELECT count(*) FILTER (WHERE state = 'active')::int AS active,
            count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS lock_waits
     FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  );
  return { activeConnections: rows[0].active, lockWaits: rows[0].lock_waits };
}
