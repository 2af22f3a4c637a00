import type { Pool } from '../../lib/infra/db';
import { riskScoreSql } from '../../lib/batch-migration/trades-risk-score';

/** How a run's batches cover the trades table: what the tests and the chaos run check a migration by. */

/** Rows whose score differs from the formula: what a forward run must change, each exactly once. */
export async function rowsToChange(pool: Pool): Promise<number> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n FROM trades t WHERE t.risk_score IS DISTINCT FROM ${riskScoreSql}`,
  );
  return rows[0].n;
}

/**
 * How the run's batches cover the table: `covered` counts (row, batch) pairs, so it
 * equals the row count only if no row fell in two batches or none.
 */
export async function batchCoverage(pool: Pool, runId: string) {
  const { rows } = await pool.query(
    `SELECT (SELECT count(*)::int FROM trades) AS total,
            (SELECT count(*)::int FROM trades t JOIN migration_batches b
               ON b.run_id = $1 AND b.to_key IS NOT NULL
              AND t.id > coalesce(b.from_key::bigint, -1) AND t.id <= b.to_key::bigint) AS covered,
            (SELECT count(DISTINCT t.id)::int FROM trades t JOIN migration_batches b
               ON b.run_id = $1 AND b.to_key IS NOT NULL
              AND t.id > coalesce(b.from_key::bigint, -1) AND t.id <= b.to_key::bigint) AS distinct_rows,
            (SELECT coalesce(sum(changed), 0)::int FROM migration_batches WHERE run_id = $1) AS changed,
            (SELECT coalesce(sum(jsonb_array_length(originals)), 0)::int FROM migration_batches WHERE run_id = $1) AS originals,
            (SELECT count(*)::int FROM migration_batches WHERE run_id = $1) AS batches`,
    [runId],
  );
  return rows[0] as {
    total: number;
    covered: number;
    distinct_rows: number;
    changed: number;
    originals: number;
    batches: number;
  };
}

/**
 * The coverage of a forward run over a table of `rows` that changed `changed` of them: every row
 * in exactly one batch, and an original value kept (for the reverse) for each row it changed.
 */
export const everyRowOnce = (rows: number, changed: number) => ({
  total: rows,
  covered: rows,
  distinct_rows: rows,
  changed,
  originals: changed,
});
