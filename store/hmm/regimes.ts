import { inTransaction, type Pool, type PoolClient } from '../../lib/infra/db';

/** The one module that owns the queries of `hmm_regimes`. */

type Db = Pool | PoolClient;

/** Rows per INSERT: a year of minute bars is a few hundred statements, each far below Postgres's limits. */
export const REGIME_BATCH = 5_000;

export interface RegimeRows {
  /** Epoch milliseconds of each bar. */
  time: ArrayLike<number>;
  state: ArrayLike<number>;
  labels: readonly string[];
  /** n×k filtered probabilities, row-major. */
  filtered: ArrayLike<number>;
}

/**
 * Replaces the analysis's regimes with these, in one transaction of batched inserts, if
 * the analysis still belongs to this run (its row is locked meanwhile). Running it twice
 * leaves the same rows, which is what makes the activity safe to retry.
 */
export async function replaceRegimes(pool: Pool, id: string, runId: string, rows: RegimeRows): Promise<boolean> {
  const n = rows.time.length;
  const k = rows.labels.length;
  return inTransaction(pool, async (c) => {
    const owner = await c.query('SELECT 1 FROM hmm_runs WHERE id = $1 AND run_id = $2 FOR UPDATE', [id, runId]);
    if (owner.rowCount === 0) return false;
    await c.query('DELETE FROM hmm_regimes WHERE run_id = $1', [id]);
    for (let start = 0; start < n; start += REGIME_BATCH) {
      const end = Math.min(n, start + REGIME_BATCH);
      const times: number[] = [];
      const states: number[] = [];
      const labels: string[] = [];
      const probability: number[] = [];
      // Postgres arrays of arrays must be rectangular: the filtered rows travel as one text literal each.
      const filtered: string[] = [];
      for (let t = start; t < end; t++) {
        const s = rows.state[t];
        times.push(rows.time[t]);
        states.push(s);
        labels.push(rows.labels[s]);
        probability.push(rows.filtered[t * k + s]);
        const row: number[] = [];
        for (let j = 0; j < k; j++) row.push(rows.filtered[t * k + j]);
        filtered.push(`{${row.join(',')}}`);
      }
      await c.query(
        `INSERT INTO hmm_regimes (run_id, time, state, label, probability, filtered)
         SELECT $1, to_timestamp(t / 1000.0), s, l, p, f::float8[]
         FROM unnest($2::float8[], $3::int[], $4::text[], $5::float8[], $6::text[]) AS r(t, s, l, p, f)`,
        [id, times, states, labels, probability, filtered],
      );
    }
    return true;
  });
}

export interface RegimePoint {
  time: number;
  close: number;
  state: number;
  probability: number;
  filtered: number[];
}

/** The analysis's regimes in time order, each with its bar's close (for the chart). */
export async function readRegimes(db: Db, id: string, symbol: string): Promise<RegimePoint[]> {
  const { rows } = await db.query(
    `SELECT (extract(epoch FROM r.time) * 1000)::float8 AS t, b.close, r.state, r.probability, r.filtered
     FROM hmm_regimes r JOIN market_bars b ON b.symbol = $2 AND b.time = r.time
     WHERE r.run_id = $1 ORDER BY r.time`,
    [id, symbol],
  );
  return rows.map((r) => ({
    time: Number(r.t),
    close: r.close as number,
    state: r.state as number,
    probability: r.probability as number,
    filtered: r.filtered as number[],
  }));
}
