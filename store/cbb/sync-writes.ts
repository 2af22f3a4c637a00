import type { Pool, PoolClient } from '../../lib/infra/db';
import { columns, fromRow, type OrderEvent, type OrderRecord } from './orders';

/**
 * The sync's writes on its hot path, each one statement: a sync ran 16 Postgres round
 * trips (a transaction's BEGIN and COMMIT, an UPDATE and an event INSERT apart) and now
 * runs 8. A single statement is atomic without a transaction, and the event's dedupe key
 * still makes each safe to run twice.
 */

type Db = Pool | PoolClient;

/**
 * The order, after recording the run's `sync_started` event and, when that event is new,
 * counting the attempt and naming the run and its first step (what `GET /orders/:id`
 * shows without asking Temporal). Undefined (and nothing written) when there is no such order.
 */
export async function startOrderSync(
  db: Db,
  orderId: string,
  run: { workflowId: string; runId: string },
  e: OrderEvent,
): Promise<OrderRecord | undefined> {
  const { rows } = await db.query(
    `WITH ev AS (
       INSERT INTO order_events (order_id, type, detail, workflow_id, dedupe_key)
       SELECT id, $2, $3, $4, $5 FROM orders WHERE id = $1
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING order_id
     ), counted AS (
       UPDATE orders SET cbb_attempts = cbb_attempts + 1, cbb_step = 'loading', cbb_workflow_id = $6,
         cbb_run_id = $7, updated_at = now()
       WHERE id IN (SELECT order_id FROM ev)
     )
     SELECT ${columns} FROM orders WHERE id = $1`,
    [
      orderId,
      e.type,
      JSON.stringify(e.detail ?? {}),
      e.workflowId ?? null,
      e.dedupeKey ?? null,
      run.workflowId,
      run.runId,
    ],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Stores the order's contact (its step now `contact`) and its `contact_found`/`contact_created` event. */
export async function recordContact(db: Db, orderId: string, contactId: string, e: OrderEvent): Promise<void> {
  await db.query(
    `WITH ord AS (
       UPDATE orders SET cbb_contact_id = $2, cbb_step = 'contact', updated_at = now() WHERE id = $1
     )
     INSERT INTO order_events (order_id, type, detail, workflow_id, dedupe_key) VALUES ($1, $3, $4, $5, $6)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [orderId, contactId, e.type, JSON.stringify(e.detail ?? {}), e.workflowId ?? null, e.dedupeKey ?? null],
  );
}

/** Marks the order synced (clearing its last error; its step now `fields`) with its `synced` event; returns whether the event was new. */
export async function markSynced(db: Db, orderId: string, e: OrderEvent): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH ord AS (
       UPDATE orders SET cbb_status = 'synced', cbb_synced = true, cbb_synced_at = COALESCE(cbb_synced_at, now()),
         cbb_last_error = NULL, cbb_step = 'fields', updated_at = now()
       WHERE id = $1
     )
     INSERT INTO order_events (order_id, type, detail, workflow_id, dedupe_key) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [orderId, e.type, JSON.stringify(e.detail ?? {}), e.workflowId ?? null, e.dedupeKey ?? null],
  );
  return rowCount === 1;
}
