import type { Pool } from '../../lib/infra/db';

/**
 * Seeds `count` trades (ids 1..count) as the seed backend left them: risk scores from
 * an old formula, some of them outside 0–10. Set-based, so a million rows take seconds.
 */
export async function seedTrades(pool: Pool, count: number): Promise<void> {
  await pool.query('TRUNCATE trades');
  await pool.query(
    `INSERT INTO trades (id, symbol, quantity, premium, risk_score)
     SELECT g,
            (ARRAY['AAPL', 'MSFT', 'TSLA', 'SPY', 'QQQ', 'NVDA', 'AMZN', 'GOOGL', 'META', 'BRK.B'])[1 + g % 10],
            (g * 7919) % 1000 - 500,
            ((g * 104729) % 100000) / 100.0,
            ((g * 31) % 1500) / 100.0 - 2
     FROM generate_series(1, $1::bigint) AS g`,
    [count],
  );
  await pool.query('ANALYZE trades');
}

/** A fingerprint of every trade's score, to prove a dry run or a reverse run left the table as it was. */
export async function tradesFingerprint(pool: Pool): Promise<string> {
  const { rows } = await pool.query(
    `SELECT md5(string_agg(id::text || ':' || coalesce(risk_score::text, '-'), ',' ORDER BY id)) AS f FROM trades`,
  );
  return rows[0].f;
}
