import type { Pool, PoolClient } from '../../lib/infra/db';
import { waitUntil } from './wait';

/**
 * A gate the test holds open: row locks (`SELECT … FOR UPDATE`) on a key range of a
 * table, in a transaction of the test's own. A migration batch that must change one of
 * those rows blocks on the lock until the test releases it, so the test decides when
 * the run gets past that point instead of hoping a rate is slow enough.
 */
export interface RowGate {
  /** The backend holding the locks. */
  pid: number;
  /** Backends waiting on these locks right now. */
  waiting(): Promise<number[]>;
  /** Waits until some statement is blocked on the gate. */
  reached(what: string): Promise<number[]>;
  release(): Promise<void>;
}

export async function holdRows(pool: Pool, table: string, fromKey: number, toKey: number): Promise<RowGate> {
  const client: PoolClient = await pool.connect();
  await client.query('BEGIN');
  const { rows } = await client.query(`SELECT id FROM ${table} WHERE id BETWEEN $1 AND $2 FOR UPDATE`, [
    fromKey,
    toKey,
  ]);
  if (rows.length === 0) throw new Error(`no ${table} rows with ids ${fromKey}..${toKey} to hold`);
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  let open = true;
  const waiting = async () =>
    (
      await pool.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) ORDER BY pid',
        [pid],
      )
    ).rows.map((r) => r.pid);
  return {
    pid,
    waiting,
    async reached(what) {
      let blocked: number[] = [];
      await waitUntil(`${what} to block on ${table} rows ${fromKey}..${toKey}`, async () => {
        blocked = await waiting();
        return blocked.length > 0;
      });
      return blocked;
    },
    async release() {
      if (!open) return;
      open = false;
      try {
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
    },
  };
}

/** Whether these backends have all ended (their client went away and Postgres noticed). */
export async function backendsGone(pool: Pool, pids: number[]): Promise<boolean> {
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1)', [pids]);
  return rows[0].n === 0;
}
