import type { Pool, PoolClient } from '../../lib/infra/db';
import type { CbbStatus, Order, OrderInput, WhatsappStatus } from '../../lib/cbb/order';
import type { StoredSyncStep } from '../../lib/cbb/sync-progress';
import { iso } from '../rows';

/** The one module that owns the queries of `orders`, `order_events` and `cbb_confirmations`. */

type Db = Pool | PoolClient;

export interface OrderRecord extends Order {
  cbbStatus: CbbStatus;
  cbbSynced: boolean;
  cbbContactId: string | null;
  cbbSyncedAt: string | null;
  cbbAttempts: number;
  /** Why the order is not synced: the last error, the validation failure or the reason it was skipped. */
  cbbLastError: string | null;
  whatsappStatus: WhatsappStatus;
  whatsappSentAt: string | null;
  whatsappReason: string | null;
  /** The last step the latest run recorded (lib/cbb/sync-progress.ts); null before any run. */
  cbbStep: StoredSyncStep | null;
  /** The run that began last, for the Web UI link. */
  cbbWorkflowId: string | null;
  cbbRunId: string | null;
}

export function fromRow(r: Record<string, unknown>): OrderRecord {
  return {
    id: String(r.id),
    externalId: r.external_id as string,
    branch: r.branch as string,
    isTest: r.is_test as boolean,
    customerName: r.customer_name as string,
    email: r.email as string | null,
    phone: r.phone as string | null,
    whatsappAlerts: r.whatsapp_alerts as boolean,
    visaCountry: r.visa_country as string | null,
    visaType: r.visa_type as string | null,
    visaQuantity: r.visa_quantity as number,
    entryDate: r.entry_date_text as string | null,
    amount: r.amount as string | null,
    currency: r.currency as string | null,
    urgency: r.urgency as string,
    createdAt: iso(r.created_at as Date) as string,
    cbbStatus: r.cbb_status as CbbStatus,
    cbbSynced: r.cbb_synced as boolean,
    cbbContactId: r.cbb_contact_id as string | null,
    cbbSyncedAt: iso(r.cbb_synced_at as Date | null),
    cbbAttempts: r.cbb_attempts as number,
    cbbLastError: r.cbb_last_error as string | null,
    whatsappStatus: r.whatsapp_status as WhatsappStatus,
    whatsappSentAt: iso(r.whatsapp_sent_at as Date | null),
    whatsappReason: r.whatsapp_reason as string | null,
    cbbStep: (r.cbb_step ?? null) as StoredSyncStep | null,
    cbbWorkflowId: (r.cbb_workflow_id ?? null) as string | null,
    cbbRunId: (r.cbb_run_id ?? null) as string | null,
  };
}

// entry_date goes out as text: a JS Date would shift it by the process's time zone.
export const columns = `*, to_char(entry_date, 'YYYY-MM-DD') AS entry_date_text`;

export async function getOrder(db: Db, id: string): Promise<OrderRecord | undefined> {
  const { rows } = await db.query(`SELECT ${columns} FROM orders WHERE id = $1`, [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export type OrderEventRow = {
  type: string;
  detail: Record<string, unknown>;
  workflowId: string | null;
  createdAt: string;
};

/**
 * The order and its audit events in one statement: the API's read, where a second round
 * trip to Postgres cost as much as the rest of the request. createdAt is formatted as
 * JavaScript's toISOString formats a Date, so the answer reads as it did from two queries.
 */
export async function getOrderWithEvents(
  db: Db,
  id: string,
): Promise<{ order: OrderRecord; events: OrderEventRow[] } | undefined> {
  const { rows } = await db.query(
    `SELECT o.*, to_char(o.entry_date, 'YYYY-MM-DD') AS entry_date_text,
       COALESCE((
         SELECT json_agg(json_build_object(
             'type', e.type, 'detail', e.detail, 'workflowId', e.workflow_id,
             'createdAt', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
           ) ORDER BY e.id)
         FROM order_events e WHERE e.order_id = o.id
       ), '[]') AS events
     FROM orders o WHERE o.id = $1`,
    [id],
  );
  if (!rows[0]) return undefined;
  return { order: fromRow(rows[0]), events: rows[0].events as OrderEventRow[] };
}

/** Inserts an order; an external id seen before returns the existing row (created: false). */
export async function insertOrder(db: Db, o: OrderInput): Promise<{ order: OrderRecord; created: boolean }> {
  const { rows } = await db.query(
    `INSERT INTO orders (external_id, branch, is_test, customer_name, email, phone, whatsapp_alerts,
       visa_country, visa_type, visa_quantity, entry_date, amount, currency, urgency)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (external_id) DO NOTHING
     RETURNING ${columns}`,
    [
      o.externalId,
      o.branch,
      o.isTest,
      o.customerName,
      o.email ?? null,
      o.phone,
      o.whatsappAlerts,
      o.visa.country ?? null,
      o.visa.type ?? null,
      o.visa.quantity,
      o.visa.entryDate ?? null,
      o.amount ?? null,
      o.currency ?? null,
      o.urgency,
    ],
  );
  if (rows[0]) return { order: fromRow(rows[0]), created: true };
  const existing = await db.query(`SELECT ${columns} FROM orders WHERE external_id = $1`, [o.externalId]);
  return { order: fromRow(existing.rows[0]), created: false };
}

/** Keyset page of orders waiting for their sync (served by the partial index orders_cbb_pending_idx). */
export async function pendingOrderIds(db: Db, afterId: string, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    // orders.id, not the text output column: ORDER BY would otherwise sort '10' before '2'.
    `SELECT id::text AS id FROM orders WHERE cbb_status = 'pending' AND id > $1 ORDER BY orders.id LIMIT $2`,
    [afterId, limit],
  );
  return rows.map((r) => r.id);
}

export interface OrderEvent {
  type: string;
  detail?: Record<string, unknown>;
  workflowId?: string;
  /** Same key, same event: a retried activity writes it once. */
  dedupeKey?: string;
}

/** Returns whether the event was new. */
export async function addEvent(db: Db, orderId: string, e: OrderEvent): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO order_events (order_id, type, detail, workflow_id, dedupe_key) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [orderId, e.type, JSON.stringify(e.detail ?? {}), e.workflowId ?? null, e.dedupeKey ?? null],
  );
  return rowCount === 1;
}

export async function listEvents(db: Db, orderId: string) {
  const { rows } = await db.query(
    `SELECT type, detail, workflow_id AS "workflowId", created_at AS "createdAt" FROM order_events WHERE order_id = $1 ORDER BY id`,
    [orderId],
  );
  return rows as { type: string; detail: Record<string, unknown>; workflowId: string | null; createdAt: Date }[];
}

/**
 * The sync's state. `step` is the step the calling run has reached (lib/cbb/sync-progress.ts);
 * `run` names a run that begins, for the read's Web UI link. Both ride on the statement the
 * step already runs, so recording progress costs the sync no round trip.
 */
export async function setSyncState(
  db: Db,
  orderId: string,
  s: {
    status?: CbbStatus;
    contactId?: string;
    lastError?: string | null;
    countAttempt?: boolean;
    step?: StoredSyncStep;
    run?: { workflowId: string; runId: string };
  },
): Promise<void> {
  await db.query(
    `UPDATE orders SET
       cbb_status = COALESCE($2, cbb_status),
       cbb_synced = COALESCE($2, cbb_status) = 'synced',
       cbb_synced_at = CASE WHEN $2 = 'synced' THEN COALESCE(cbb_synced_at, now()) ELSE cbb_synced_at END,
       cbb_contact_id = COALESCE($3, cbb_contact_id),
       cbb_last_error = CASE WHEN $4 THEN $5 ELSE cbb_last_error END,
       cbb_attempts = cbb_attempts + CASE WHEN $6 THEN 1 ELSE 0 END,
       cbb_step = COALESCE($7, cbb_step),
       cbb_workflow_id = COALESCE($8, cbb_workflow_id),
       cbb_run_id = COALESCE($9, cbb_run_id),
       updated_at = now()
     WHERE id = $1`,
    [
      orderId,
      s.status ?? null,
      s.contactId ?? null,
      s.lastError !== undefined,
      s.lastError ?? null,
      s.countAttempt ?? false,
      s.step ?? null,
      s.run?.workflowId ?? null,
      s.run?.runId ?? null,
    ],
  );
}

export async function setWhatsappState(
  db: Db,
  orderId: string,
  status: WhatsappStatus,
  reason: string | null,
  step?: StoredSyncStep,
): Promise<void> {
  await db.query(
    `UPDATE orders SET whatsapp_status = $2, whatsapp_reason = $3,
       whatsapp_sent_at = CASE WHEN $2 = 'sent' THEN COALESCE(whatsapp_sent_at, now()) ELSE whatsapp_sent_at END,
       cbb_step = COALESCE($4, cbb_step),
       updated_at = now()
     WHERE id = $1`,
    [orderId, status, reason, step ?? null],
  );
}

/** Claims the order's one confirmation; returns the existing claim when there is one. */
export async function claimConfirmation(
  db: Db,
  orderId: string,
  contactId: string,
  claimedBy: string,
): Promise<{ claimed: true } | { claimed: false; state: 'sending' | 'sent' | 'unconfirmed'; claimedBy: string }> {
  const inserted = await db.query(
    `INSERT INTO cbb_confirmations (order_id, contact_id, state, claimed_by) VALUES ($1, $2, 'sending', $3)
     ON CONFLICT (order_id) DO NOTHING`,
    [orderId, contactId, claimedBy],
  );
  if (inserted.rowCount === 1) return { claimed: true };
  const { rows } = await db.query(`SELECT state, claimed_by FROM cbb_confirmations WHERE order_id = $1`, [orderId]);
  return { claimed: false, state: rows[0].state, claimedBy: rows[0].claimed_by };
}

/**
 * Settles a claimed confirmation as sent or unconfirmed: the claim, the order's WhatsApp
 * state (and the run's step: the confirmation is the sync's last), and the audit event, in one statement. One round trip, because the time between
 * CBB's answer and this record is when a lost worker leaves the outcome unknown.
 */
export async function recordConfirmation(
  db: Db,
  orderId: string,
  outcome: { state: 'sent' | 'unconfirmed'; reason: string | null; event: OrderEvent },
): Promise<void> {
  const { state, reason, event: e } = outcome;
  await db.query(
    `WITH claim AS (
       UPDATE cbb_confirmations SET state = $2::text, sent_at = CASE WHEN $2::text = 'sent' THEN now() ELSE sent_at END WHERE order_id = $1
     ), ord AS (
       UPDATE orders SET whatsapp_status = $2::text, whatsapp_reason = $3,
         whatsapp_sent_at = CASE WHEN $2::text = 'sent' THEN COALESCE(whatsapp_sent_at, now()) ELSE whatsapp_sent_at END,
         cbb_step = 'done',
         updated_at = now()
       WHERE id = $1
     )
     INSERT INTO order_events (order_id, type, detail, workflow_id, dedupe_key) VALUES ($1, $4, $5, $6, $7)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [orderId, state, reason, e.type, JSON.stringify(e.detail ?? {}), e.workflowId ?? null, e.dedupeKey ?? null],
  );
}

/** Gives a claim back after CBB answered that it did not send: the next attempt may send. */
export async function releaseConfirmation(db: Db, orderId: string, claimedBy: string): Promise<void> {
  await db.query(`DELETE FROM cbb_confirmations WHERE order_id = $1 AND claimed_by = $2 AND state = 'sending'`, [
    orderId,
    claimedBy,
  ]);
}
