import type { Pool } from 'pg';
import { conflict } from '../../lib/errors';
import { batchMigrationWorkflowId } from '../../lib/batch-migration/contract';
import { iso } from '../rows';

/** The one module that owns the migration_runs and migration_batches queries. */

export type RunKind = 'forward' | 'reverse';

export interface RunRecord {
  id: string;
  migration: string;
  seq: number;
  kind: RunKind;
  reverses: string | null;
  dryRun: boolean;
  state: string;
  params: Record<string, unknown>;
  rowsDone: number;
  rowsChanged: number;
  batches: number;
  estimatedTotal: number | null;
  cursor: string | null;
  batchSize: number | null;
  maxRowsPerSecond: number | null;
  lastError: string | null;
  verify: unknown;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface BatchRecord {
  id: string;
  partition: number;
  seq: number;
  fromKey: string | null;
  toKey: string | null;
  rows: number;
  changed: number;
  ms: number;
  sourceBatch: string | null;
  appliedAt: string;
}

const runColumns = `id, migration, seq, kind, reverses, dry_run, state, params, rows_done, rows_changed, batches,
  estimated_total, cursor, batch_size, max_rows_per_second, last_error, verify, started_at, updated_at, finished_at`;

function toRun(r: Record<string, unknown>): RunRecord {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: r.id as string,
    migration: r.migration as string,
    seq: Number(r.seq),
    kind: r.kind as RunKind,
    reverses: (r.reverses as string | null) ?? null,
    dryRun: r.dry_run as boolean,
    state: r.state as string,
    params: (r.params as Record<string, unknown>) ?? {},
    rowsDone: Number(r.rows_done),
    rowsChanged: Number(r.rows_changed),
    batches: Number(r.batches),
    estimatedTotal: num(r.estimated_total),
    cursor: (r.cursor as string | null) ?? null,
    batchSize: num(r.batch_size),
    maxRowsPerSecond: num(r.max_rows_per_second),
    lastError: (r.last_error as string | null) ?? null,
    verify: r.verify ?? null,
    startedAt: iso(r.started_at) as string,
    updatedAt: iso(r.updated_at) as string,
    finishedAt: iso(r.finished_at),
  };
}

export const runIdOf = batchMigrationWorkflowId;

export interface NewRun {
  migration: string;
  kind: RunKind;
  reverses?: string;
  dryRun: boolean;
  params: Record<string, unknown>;
}

/**
 * Reserves the next run number of a migration (`migration-<name>-<n>`) by inserting
 * its row; two callers racing for the same number meet the unique key and the loser
 * takes the next one.
 */
const activeStates = `('starting', 'running', 'paused', 'verifying')`;

/** A new run's values for the columns kind … max_rows_per_second, in the order both INSERTs name them. */
const newRunValues = (run: NewRun) => [
  run.kind,
  run.reverses ?? null,
  run.dryRun,
  run.params,
  run.params.batchSize ?? null,
  run.params.maxRowsPerSecond ?? null,
];

/**
 * Reserves the next run number. `exclusive` refuses while a real forward run of the same
 * migration is active; two starts at once compute the same number, one loses on the
 * unique key, retries, and then sees the other.
 */
export async function createRun(pool: Pool, run: NewRun, opts: { exclusive?: boolean } = {}): Promise<RunRecord> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const { rows } = await pool.query(
        `INSERT INTO migration_runs (id, migration, seq, kind, reverses, dry_run, state, params, batch_size, max_rows_per_second)
         SELECT 'migration-' || $1 || '-' || n, $1, n, $2, $3, $4, 'starting', $5, $6, $7
         FROM (SELECT coalesce(max(seq), 0) + 1 AS n FROM migration_runs WHERE migration = $1) s
         WHERE NOT $8::boolean OR NOT EXISTS (
           SELECT 1 FROM migration_runs WHERE migration = $1 AND kind = 'forward' AND NOT dry_run AND state IN ${activeStates})
         RETURNING ${runColumns}`,
        [run.migration, ...newRunValues(run), opts.exclusive ?? false],
      );
      if (!rows[0]) {
        const active = await pool.query<{ id: string; state: string }>(
          `SELECT id, state FROM migration_runs WHERE migration = $1 AND kind = 'forward' AND NOT dry_run AND state IN ${activeStates} ORDER BY seq`,
          [run.migration],
        );
        const which = active.rows.map((r) => `${r.id} (${r.state})`).join(', ') || 'another run';
        throw conflict(
          `${run.migration} is already running as ${which}; wait for it, cancel it, or start with "concurrent": true`,
        );
      }
      return toRun(rows[0]);
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
    }
  }
  throw conflict(`could not reserve a run number for ${run.migration}: too many concurrent starts`);
}

/** A run started outside the API (the Temporal CLI) gets its row here; an existing row is kept. */
export async function ensureRun(pool: Pool, id: string, run: NewRun): Promise<void> {
  const seq = Number(/-(\d+)$/.exec(id)?.[1] ?? 0);
  await pool.query(
    `INSERT INTO migration_runs (id, migration, seq, kind, reverses, dry_run, state, params, batch_size, max_rows_per_second)
     VALUES ($1, $2, CASE WHEN $3 > 0 AND NOT EXISTS (SELECT 1 FROM migration_runs WHERE migration = $2 AND seq = $3) THEN $3
       ELSE (SELECT coalesce(max(seq), 0) + 1 FROM migration_runs WHERE migration = $2) END,
       $4, $5, $6, 'starting', $7, $8, $9)
     ON CONFLICT (id) DO NOTHING`,
    [id, run.migration, seq, ...newRunValues(run)],
  );
}

export interface RunPatch {
  state?: string;
  estimatedTotal?: number;
  batchSize?: number;
  maxRowsPerSecond?: number | null;
  lastError?: string | null;
  verify?: unknown;
  finished?: boolean;
}

export async function updateRun(pool: Pool, id: string, patch: RunPatch): Promise<void> {
  await pool.query(
    `UPDATE migration_runs SET
       state = coalesce($2, state),
       estimated_total = coalesce($3, estimated_total),
       batch_size = coalesce($4, batch_size),
       max_rows_per_second = CASE WHEN $5 THEN $6 ELSE max_rows_per_second END,
       last_error = CASE WHEN $7 THEN $8 ELSE last_error END,
       verify = coalesce($9, verify),
       finished_at = CASE WHEN $10 THEN coalesce(finished_at, now()) ELSE finished_at END,
       updated_at = now()
     WHERE id = $1`,
    [
      id,
      patch.state ?? null,
      patch.estimatedTotal ?? null,
      patch.batchSize ?? null,
      patch.maxRowsPerSecond !== undefined,
      patch.maxRowsPerSecond ?? null,
      patch.lastError !== undefined,
      patch.lastError ?? null,
      patch.verify === undefined ? null : JSON.stringify(patch.verify),
      patch.finished ?? false,
    ],
  );
}

export async function getRun(pool: Pool, id: string): Promise<RunRecord | undefined> {
  const { rows } = await pool.query(`SELECT ${runColumns} FROM migration_runs WHERE id = $1`, [id]);
  return rows[0] ? toRun(rows[0]) : undefined;
}

export async function listRuns(pool: Pool, limitPerMigration = 20): Promise<RunRecord[]> {
  const { rows } = await pool.query(
    `SELECT ${runColumns} FROM (
       SELECT *, row_number() OVER (PARTITION BY migration ORDER BY seq DESC) AS rn FROM migration_runs
     ) r WHERE rn <= $1 ORDER BY migration, seq DESC`,
    [limitPerMigration],
  );
  return rows.map(toRun);
}

export async function listBatches(pool: Pool, runId: string, limit = 100): Promise<BatchRecord[]> {
  const { rows } = await pool.query(
    `SELECT id::text, partition, seq, from_key, to_key, rows, changed, ms, source_batch::text, applied_at
     FROM migration_batches WHERE run_id = $1 ORDER BY id DESC LIMIT $2`,
    [runId, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    partition: r.partition,
    seq: r.seq,
    fromKey: r.from_key,
    toKey: r.to_key,
    rows: r.rows,
    changed: r.changed,
    ms: r.ms,
    sourceBatch: r.source_batch,
    appliedAt: (r.applied_at as Date).toISOString(),
  }));
}
