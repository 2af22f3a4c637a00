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
  // The pool listens only while a client is idle: one checked out (held in a transaction, across
  // a partner's HTTP call) that loses its server emits 'error' on itself, and with no listener that
  // kills the process. Its query in flight fails on its own, so the activity fails and is retried;
  // the listener only keeps the process alive and says why, once per client.
  pool.on('connect', (client) => {
    client.on('error', (err: Error & { code?: string }) =>
      log?.warn({ err: err.message, code: err.code }, 'postgres connection lost while in use'),
    );
  });
  return pool;
}

/**
 * Gives a client back to its pool after use; one whose statement failed is destroyed rather
 * than reused, since a lost connection (or one left mid-transaction) must not serve the next caller.
 */
export function releaseClient(client: PoolClient, failure?: unknown): void {
  client.release(failure === undefined ? undefined : failure instanceof Error ? failure : new Error(String(failure)));
}

/** Runs fn on a client checked out of the pool, and releases it: destroyed if fn failed. */
export async function withClient<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failure: unknown;
  try {
    return await fn(client);
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    releaseClient(client, failure);
  }
}

/** Runs fn in a transaction on a connection from the pool; rolls back on any error. */
export function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, (client) => transaction(client, fn));
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
