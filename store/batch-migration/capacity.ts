import { availableParallelism, loadavg } from 'node:os';
import type { Pool } from '../../lib/infra/db';
import type { DbCapacity } from '../../lib/batch-migration/batching';

const samples = 5;
const sampleGapMs = 100;

/**
 * The database's cores and how busy they are, for `partitions: 'auto'`. Postgres does not
 * report its cores, so: a server on this machine (reached over loopback or a socket) has
 * this machine's cores, and its load is this machine's one-minute load average, which
 * counts every process that competes for them, Postgres's own backends included. A
 * server elsewhere is taken to have `max_parallel_workers` cores (tuning guides set it to
 * the core count; Postgres's default is 8), and its load is the mean number of other
 * sessions running a statement, sampled five times over half a second.
 */
export async function databaseCapacity(pool: Pool): Promise<DbCapacity & { local: boolean }> {
  const { rows } = await pool.query<{ local: boolean; parallel: number }>(
    `SELECT coalesce(inet_server_addr() <<= '127.0.0.0/8'::inet OR inet_server_addr() = '::1'::inet, true) AS local,
            current_setting('max_parallel_workers')::int AS parallel`,
  );
  const { local, parallel } = rows[0];
  if (local) return { local, cores: availableParallelism(), load: round(loadavg()[0]) };
  let active = 0;
  for (let i = 0; i < samples; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, sampleGapMs));
    const sample = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    );
    active += sample.rows[0].n;
  }
  return { local, cores: parallel, load: round(active / samples) };
}

const round = (n: number) => Math.round(n * 100) / 100;
