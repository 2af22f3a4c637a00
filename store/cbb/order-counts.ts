import type { Pool } from '../../lib/infra/db';

/**
 * What the API's /metrics reports about orders on every scrape. Both counts read a partial
 * index (orders_cbb_pending_idx, orders_whatsapp_unconfirmed_idx), so a large orders table
 * costs a scrape nothing.
 */
export async function orderCounts(pool: Pool): Promise<{ pending: number; unconfirmed: number }> {
  const { rows } = await pool.query<{ pending: string; unconfirmed: string }>(
    `SELECT (SELECT count(*) FROM orders WHERE cbb_status = 'pending') AS pending,
            (SELECT count(*) FROM orders WHERE whatsapp_status = 'unconfirmed') AS unconfirmed`,
  );
  return { pending: Number(rows[0].pending), unconfirmed: Number(rows[0].unconfirmed) };
}
