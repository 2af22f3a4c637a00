import type { Pool, PoolClient } from '../../lib/infra/db';
import { isSqlValue, type MigrationDefinition } from '../../lib/batch-migration/registry';

/** The SQL of one forward batch: select the next rows after the cursor, rewrite the changed ones. */

export interface BatchWindow {
  /** Exclusive lower key; undefined = from the start. */
  after?: string;
  /** Inclusive upper key of the partition; undefined = to the end. */
  upTo?: string;
  limit: number;
  dryRun: boolean;
}

/** Where the batch is recorded: its row in migration_batches is written by the batch's own statements. */
export interface BatchKey {
  runId: string;
  partition: number;
  seq: number;
}

export interface BatchChange {
  rows: number;
  changed: number;
  lastKey?: string;
  /** The batch's record; undefined when a record under the same key existed (a racing twin). */
  batchId?: string;
}

// The record also keeps the [key, old value] pairs of the changed rows (null for a dry
// run): what a reverse run restores.
const insertBatch = `INSERT INTO migration_batches (run_id, partition, seq, from_key, to_key, rows, changed, ms, originals)`;

const windowWhere = (m: MigrationDefinition) =>
  `($1::bigint IS NULL OR t.${m.key} > $1::bigint) AND ($2::bigint IS NULL OR t.${m.key} <= $2::bigint)` +
  (m.where ? ` AND (${m.where})` : '');

/**
 * Computed in Postgres: one statement reads the batch (old and new values, the
 * expression evaluated once per row), updates the rows whose value changes, records
 * the batch with its originals and reports it; the originals never leave Postgres. A
 * writer that changes an input in the instant between the read and the write of the
 * same statement would leave a stale value; verify finds it.
 *
 * The UPDATE repeats the batch's key range (after, last key]: without it, once a batch
 * passes a few tens of thousands of rows the planner joins the batch to the table by
 * hashing the whole table (a sequential scan of every row, spilled to disk), so a batch
 * cost grew with the table instead of with the batch, and two partitions each scanned
 * all of it. With the range the join reads only the batch's own rows.
 *
 * Parameters: those of `forwardParams`.
 */
export function forwardStatement(m: MigrationDefinition, expr: string): string {
  const next = `(${expr})::${m.columnType}`;
  return `WITH batch AS (
       SELECT t.${m.key} AS key, t.${m.column} AS old, ${next} AS new
       FROM ${m.table} t WHERE ${windowWhere(m)} ORDER BY t.${m.key} LIMIT $3
     ), changed AS (
       SELECT key, old, new FROM batch WHERE old IS DISTINCT FROM new
     ), updated AS (
       UPDATE ${m.table} t SET ${m.column} = c.new FROM changed c
       WHERE t.${m.key} = c.key AND NOT $4::boolean
         AND ($1::bigint IS NULL OR t.${m.key} > $1::bigint) AND t.${m.key} <= (SELECT max(key) FROM batch)
     ), summary AS (
       SELECT (SELECT count(*) FROM batch)::int AS rows, (SELECT max(key) FROM batch)::text AS last_key,
              (SELECT count(*) FROM changed)::int AS changed
     ), saved AS (
       ${insertBatch}
       SELECT $5, $6, $7, $8, s.last_key, s.rows, s.changed, 0,
              CASE WHEN $4::boolean THEN NULL
                   ELSE (SELECT coalesce(jsonb_agg(jsonb_build_array(key::text, old::text)), '[]') FROM changed) END
       FROM summary s
       ON CONFLICT (run_id, partition, seq) DO NOTHING RETURNING id
     )
     SELECT s.rows, s.last_key, s.changed, (SELECT id::text FROM saved) AS batch_id FROM summary s`;
}

export const forwardParams = (w: BatchWindow, at: BatchKey) => [
  w.after ?? null,
  w.upTo ?? null,
  w.limit,
  w.dryRun,
  at.runId,
  at.partition,
  at.seq,
  w.after ?? null,
];

async function sqlBatch(
  client: PoolClient,
  m: MigrationDefinition,
  expr: string,
  w: BatchWindow,
  at: BatchKey,
): Promise<BatchChange> {
  const { rows } = await client.query(forwardStatement(m, expr), forwardParams(w, at));
  const r = rows[0];
  return { rows: r.rows, changed: r.changed, lastKey: r.last_key ?? undefined, batchId: r.batch_id ?? undefined };
}

/** Computed in the worker: read the batch, compute each value, write all changes in one UPDATE. */
async function jsBatch(
  client: PoolClient,
  m: MigrationDefinition,
  value: { inputs: string[]; compute: (row: Record<string, unknown>) => string | null },
  w: BatchWindow,
  at: BatchKey,
): Promise<BatchChange> {
  const inputs = value.inputs.map((c) => `, t.${c}`).join('');
  const { rows } = await client.query(
    `SELECT t.${m.key}::text AS __key, t.${m.column}::text AS __old${inputs}, t.${m.column}
     FROM ${m.table} t WHERE ${windowWhere(m)}
     ORDER BY t.${m.key} LIMIT $3 FOR UPDATE OF t`,
    [w.after ?? null, w.upTo ?? null, w.limit],
  );
  const keys: string[] = [];
  const values: (string | null)[] = [];
  const originals: [string, string | null][] = [];
  for (const row of rows) {
    const next = value.compute(row);
    if (next === row.__old) continue;
    keys.push(row.__key);
    values.push(next);
    originals.push([row.__key, row.__old]);
  }
  if (keys.length > 0 && !w.dryRun) {
    await client.query(
      `UPDATE ${m.table} t SET ${m.column} = v.value::${m.columnType}
       FROM unnest($1::bigint[], $2::text[]) AS v(key, value) WHERE t.${m.key} = v.key`,
      [keys, values],
    );
  }
  const lastKey = rows.length ? (rows[rows.length - 1].__key as string) : undefined;
  const saved = await client.query(
    `${insertBatch} VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) ON CONFLICT (run_id, partition, seq) DO NOTHING RETURNING id::text`,
    [
      at.runId,
      at.partition,
      at.seq,
      w.after ?? null,
      lastKey ?? null,
      rows.length,
      keys.length,
      w.dryRun ? null : JSON.stringify(originals),
    ],
  );
  return { rows: rows.length, changed: keys.length, lastKey, batchId: saved.rows[0]?.id };
}

/** Applies one forward batch and inserts its record, in the caller's transaction. */
export function applyForward(
  client: PoolClient,
  m: MigrationDefinition,
  w: BatchWindow,
  at: BatchKey,
): Promise<BatchChange> {
  return isSqlValue(m.newValue) ? sqlBatch(client, m, m.newValue.sql, w, at) : jsBatch(client, m, m.newValue, w, at);
}

/** Restores the values one forward batch replaced; writing them again is a no-op. */
export async function restoreBatch(client: PoolClient, m: MigrationDefinition, sourceBatchId: string): Promise<number> {
  const { rowCount } = await client.query(
    `UPDATE ${m.table} t SET ${m.column} = (o.pair->>1)::${m.columnType}
     FROM migration_batches b, jsonb_array_elements(b.originals) AS o(pair)
     WHERE b.id = $1 AND t.${m.key} = (o.pair->>0)::bigint
       AND t.${m.column} IS DISTINCT FROM (o.pair->>1)::${m.columnType}`,
    [sourceBatchId],
  );
  return rowCount ?? 0;
}

/**
 * Verify for worker-computed values: walks the table in keyset chunks and counts the
 * rows a second pass would still change (a migrated table is a fixed point).
 */
export async function countUnsettled(
  pool: Pool,
  m: MigrationDefinition,
  value: { inputs: string[]; compute: (row: Record<string, unknown>) => string | null },
  onChunk: () => void,
): Promise<{ invalidRows: number; sampleKeys: string[] }> {
  const inputs = value.inputs.map((c) => `, t.${c}`).join('');
  let after: string | null = null;
  let invalidRows = 0;
  const sampleKeys: string[] = [];
  for (;;) {
    const { rows }: { rows: Record<string, unknown>[] } = await pool.query(
      `SELECT t.${m.key}::text AS __key, t.${m.column}::text AS __old${inputs}, t.${m.column}
       FROM ${m.table} t WHERE ($1::bigint IS NULL OR t.${m.key} > $1::bigint)${m.where ? ` AND (${m.where})` : ''}
       ORDER BY t.${m.key} LIMIT 5000`,
      [after],
    );
    if (rows.length === 0) return { invalidRows, sampleKeys };
    for (const row of rows) {
      if (value.compute(row) === row.__old) continue;
      invalidRows++;
      if (sampleKeys.length < 10) sampleKeys.push(row.__key as string);
    }
    after = rows[rows.length - 1].__key as string;
    onChunk();
  }
}
