import type { Pool } from 'pg';

/** Migration runs by definition and state, for the API's /metrics (one row per run: a small table). */
export async function runCountsByState(pool: Pool): Promise<{ migration: string; state: string; runs: number }[]> {
  const { rows } = await pool.query<{ migration: string; state: string; runs: number }>(
    'SELECT migration, state, count(*)::int AS runs FROM migration_runs GROUP BY 1, 2',
  );
  return rows;
}
