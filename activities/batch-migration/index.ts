import type { Pool } from '../../lib/infra/db';
import type { Logger } from '../../lib/infra/logger';
import { Context, log as activityLog } from '@temporalio/activity';
import { getMigrationDefinition, isSqlValue } from '../../lib/batch-migration/registry';
import type { DbLoad } from '../../lib/batch-migration/batching';
import { ensureRun, getRun, updateRun, type NewRun, type RunPatch } from '../../store/batch-migration/runs';
import { applyForward, countUnsettled, restoreBatch } from './batch-sql';
import { cancellableTransaction, sampleLoad } from './transaction';
import { runtimeBatchMigrationMetrics, type BatchDirection, type BatchMigrationMetrics } from './metrics';

export interface BatchMigrationDeps {
  pool: Pool;
  log: Logger;
  metrics?: BatchMigrationMetrics;
}

export interface BatchInput {
  runId: string;
  migration: string;
  partition: number;
  seq: number;
  after?: string;
  upTo?: string;
  batchSize: number;
  dryRun: boolean;
  /** Whether this batch's last key is the run's cursor (false inside partitions). */
  trackCursor: boolean;
}

export interface ReverseBatchInput {
  runId: string;
  migration: string;
  sourceRunId: string;
  seq: number;
  /** The last source batch id restored; undefined = from the first. */
  after?: string;
}

export interface BatchResult {
  rows: number;
  changed: number;
  /** The cursor after this batch (a key, or a source batch id for a reverse run). */
  lastKey?: string;
  done: boolean;
  ms: number;
  /** True when this batch had already been applied and only its record was read. */
  replayed: boolean;
  load: DbLoad;
}

const elapsed = (start: bigint) => Number((process.hrtime.bigint() - start) / 1_000_000n);

export function createBatchMigrationActivities({ pool, metrics = runtimeBatchMigrationMetrics }: BatchMigrationDeps) {
  /** One line and one count per batch applied; a replayed batch was counted when it was applied. */
  function applied(
    input: { runId: string; migration: string; seq: number },
    direction: BatchDirection,
    r: BatchResult,
  ) {
    if (r.replayed) return;
    metrics.batch(input.migration, direction, r.rows, r.ms / 1000);
    activityLog.info('migration batch applied', {
      runId: input.runId,
      migration: input.migration,
      direction,
      seq: input.seq,
      rows: r.rows,
      changed: r.changed,
      ms: r.ms,
      done: r.done,
    });
  }

  /** A batch already recorded under (run, partition, seq) was applied: return its record instead. */
  async function recorded(
    runId: string,
    partition: number,
    seq: number,
  ): Promise<Omit<BatchResult, 'done' | 'load'> | undefined> {
    const { rows } = await pool.query(
      `SELECT rows, changed, coalesce(to_key, source_batch::text) AS last_key, ms FROM migration_batches
       WHERE run_id = $1 AND partition = $2 AND seq = $3`,
      [runId, partition, seq],
    );
    return (
      rows[0] && {
        rows: rows[0].rows,
        changed: rows[0].changed,
        lastKey: rows[0].last_key ?? undefined,
        ms: rows[0].ms,
        replayed: true,
      }
    );
  }

  return {
    /** Safe to run twice: inserts the run's row only if it is missing, then sets its state. */
    async startMigrationRun(runId: string, run: NewRun): Promise<{ estimatedTotal: number }> {
      await ensureRun(pool, runId, run);
      const m = getMigrationDefinition(run.migration);
      const { rows } = run.reverses
        ? await pool.query(
            `SELECT coalesce(sum(changed), 0)::bigint AS n FROM migration_batches WHERE run_id = $1 AND originals IS NOT NULL`,
            [run.reverses],
          )
        : await pool.query(`SELECT count(*)::bigint AS n FROM ${m.table} t${m.where ? ` WHERE ${m.where}` : ''}`);
      const estimatedTotal = Number(rows[0].n);
      await updateRun(pool, runId, { state: 'running', estimatedTotal });
      return { estimatedTotal };
    },

    /** Safe to run twice: it sets absolute values (a retry may count a state twice on the metrics). */
    async recordMigrationRun(runId: string, patch: RunPatch): Promise<void> {
      await updateRun(pool, runId, patch);
      if (!patch.state) return;
      const run = await getRun(pool, runId);
      if (run) metrics.entered(run.migration, patch.state);
    },

    /**
     * Applies one forward batch and records it in the same transaction. Safe to run
     * twice: a batch whose record exists is not applied again (its record is
     * returned), and the unique (run, partition, seq) key rolls back a racing twin.
     */
    applyMigrationBatch: async (input: BatchInput): Promise<BatchResult> => {
      const m = getMigrationDefinition(input.migration);
      const already = await recorded(input.runId, input.partition, input.seq);
      if (already) return { ...already, done: already.rows < input.batchSize, load: await sampleLoad(pool) };
      const start = process.hrtime.bigint();
      const outcome = await cancellableTransaction(pool, async (client) => {
        const window = { after: input.after, upTo: input.upTo, limit: input.batchSize, dryRun: input.dryRun };
        const change = await applyForward(client, m, window, input);
        if (change.batchId === undefined) throw new DuplicateBatch();
        const ms = elapsed(start);
        await client.query(
          `WITH timed AS (UPDATE migration_batches SET ms = $6 WHERE id = $7)
           UPDATE migration_runs SET rows_done = rows_done + $2, rows_changed = rows_changed + $3, batches = batches + 1,
             cursor = CASE WHEN $4 AND $5::text IS NOT NULL THEN $5 ELSE cursor END, updated_at = now() WHERE id = $1`,
          [input.runId, change.rows, change.changed, input.trackCursor, change.lastKey ?? null, ms, change.batchId],
        );
        return { rows: change.rows, changed: change.changed, lastKey: change.lastKey, ms, replayed: false };
      }).catch(async (err) => {
        if (!(err instanceof DuplicateBatch)) throw err;
        return (await recorded(input.runId, input.partition, input.seq))!;
      });
      const result = { ...outcome, done: outcome.rows < input.batchSize, load: await sampleLoad(pool) };
      applied(input, 'forward', result);
      return result;
    },

    /**
     * Restores the next forward batch of the source run. Safe to run twice: it writes
     * the recorded original values (a second write changes nothing) and its own record
     * is keyed like a forward batch's.
     */
    reverseMigrationBatch: async (input: ReverseBatchInput): Promise<BatchResult> => {
      const m = getMigrationDefinition(input.migration);
      const already = await recorded(input.runId, 0, input.seq);
      if (already) return { ...already, done: false, load: await sampleLoad(pool) };
      const start = process.hrtime.bigint();
      const outcome = await cancellableTransaction(pool, async (client) => {
        const { rows: source } = await client.query(
          // Ordered by the bigint id, not its text (as text, batch 10 would come before batch 7).
          `SELECT b.id::text AS batch_id, b.from_key, b.to_key, b.changed FROM migration_batches b
           WHERE b.run_id = $1 AND b.originals IS NOT NULL AND ($2::bigint IS NULL OR b.id > $2::bigint) ORDER BY b.id LIMIT 1`,
          [input.sourceRunId, input.after ?? null],
        );
        if (source.length === 0) return undefined;
        const restored = await restoreBatch(client, m, source[0].batch_id);
        const ms = elapsed(start);
        await client.query(
          `INSERT INTO migration_batches (run_id, partition, seq, from_key, to_key, rows, changed, ms, source_batch)
           VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8)`,
          [
            input.runId,
            input.seq,
            source[0].from_key,
            source[0].to_key,
            source[0].changed,
            restored,
            ms,
            source[0].batch_id,
          ],
        );
        await client.query(
          `UPDATE migration_runs SET rows_done = rows_done + $2, rows_changed = rows_changed + $3, batches = batches + 1,
             cursor = $4, updated_at = now() WHERE id = $1`,
          [input.runId, source[0].changed, restored, source[0].batch_id],
        );
        return {
          rows: Number(source[0].changed),
          changed: restored,
          lastKey: source[0].batch_id as string,
          ms,
          replayed: false,
        };
      });
      const load = await sampleLoad(pool);
      if (!outcome)
        return { rows: 0, changed: 0, lastKey: input.after, ms: elapsed(start), replayed: false, done: true, load };
      const result = { ...outcome, done: false, load };
      applied(input, 'reverse', result);
      return result;
    },

    /**
     * Read-only, so safe to run any number of times. Its name is the activity type in every
     * recorded run's history, so it keeps the old word where the rest says batch migration.
     */
    async verifyDataMigration(
      migration: string,
      reverses?: string,
    ): Promise<{ ok: boolean; invalidRows: number; sampleKeys: string[] }> {
      const m = getMigrationDefinition(migration);
      if (!reverses && !isSqlValue(m.newValue) && !m.invalid) {
        const found = await countUnsettled(pool, m, m.newValue, () => Context.current().heartbeat());
        return { ok: found.invalidRows === 0, ...found };
      }
      // Count all, but carry only a few keys back: a failed verify may find millions.
      const { rows } = reverses
        ? await pool.query(
            `SELECT count(*)::int AS n, (array_agg(o.pair->>0))[1:10] AS sample
             FROM migration_batches b, jsonb_array_elements(b.originals) AS o(pair)
             JOIN ${m.table} t ON t.${m.key} = (o.pair->>0)::bigint
             WHERE b.run_id = $1 AND t.${m.column} IS DISTINCT FROM (o.pair->>1)::${m.columnType}`,
            [reverses],
          )
        : await pool.query(
            `SELECT count(*)::int AS n, (array_agg(t.${m.key}::text))[1:10] AS sample
             FROM ${m.table} t WHERE ${m.where ? `(${m.where}) AND ` : ''}(${m.invalid ?? 'false'})`,
          );
      return { ok: rows[0].n === 0, invalidRows: rows[0].n, sampleKeys: rows[0].sample ?? [] };
    },

    /** Read-only. The smallest and largest key, to split a run into partitions. */
    async migrationKeyRange(migration: string): Promise<{ min?: string; max?: string }> {
      const m = getMigrationDefinition(migration);
      const { rows } = await pool.query(
        `SELECT min(t.${m.key})::text AS min, max(t.${m.key})::text AS max FROM ${m.table} t`,
      );
      return { min: rows[0].min ?? undefined, max: rows[0].max ?? undefined };
    },
  };
}

class DuplicateBatch extends Error {}

export type BatchMigrationActivities = ReturnType<typeof createBatchMigrationActivities>;
