import { Pool, type PoolClient } from 'pg';
import type { Config } from './config';
import type { Logger } from './logger';

export type { Pool, PoolClient };

export interface PoolDeadlines {
  /** How long to wait for a connection (a new one, or a free one from the pool). */
  connectMs: number;
  /** The server cancels a statement that runs longer (SQLSTATE 57014). */
  statementMs?: number;
  /** The client gives up on a query the server never answers, e.g. a frozen server where no statement timeout fires. */
  queryMs?: number;
  /** A pg Client class to use, e.g. one that times every statement (lib/infra/query-monitor.ts). */
  client?: typeof import('pg').Client;
}

/** A dead database should fail a call quickly so Temporal retries it, not hang it. */
const workerDeadlines: PoolDeadlines = { connectMs: 5_000 };

export function createPool(
  config: Pick<Config, 'database'>,
  log?: Logger,
  name = 'orchestrator',
  deadlines: PoolDeadlines = workerDeadlines,
): Pool {
  const pool = new Pool({
    connectionString: config.database.url,
    max: config.database.poolMax,
    application_name: name,
    connectionTimeoutMillis: deadlines.connectMs,
    statement_timeout: deadlines.statementMs,
    query_timeout: deadlines.queryMs,
    idleTimeoutMillis: 30_000,
    ...(deadlines.client ? { Client: deadlines.client } : {}),
  });
  // An idle client that loses its server emits here; without a listener the process dies.
  pool.on('error', (err) => log?.warn({ err: err.message }, 'idle postgres client failed'));
  return pool;
}

/** Runs fn in a transaction on a connection from the pool; rolls back on any error. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await transaction(client, fn);
  } finally {
    client.release();
  }
}

/** Runs fn in a transaction on a connection the caller holds; rolls back on any error. */
async function transaction<T>(client: PoolClient, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
