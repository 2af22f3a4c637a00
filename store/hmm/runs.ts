import type { AnalysisParams, FitSummary, SeriesRef, Timings } from '../../lib/hmm/contract';
import type { ModelJson } from '../../lib/hmm';
import type { Pool, PoolClient } from '../../lib/infra/db';
import { iso } from '../rows';

/** The one module that owns the queries of `hmm_runs` and `hmm_models`. */

type Db = Pool | PoolClient;

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export interface RunRecord {
  id: string;
  runId: string;
  symbol: string;
  params: AnalysisParams;
  status: RunStatus;
  engine: string | null;
  bars: number | null;
  observations: number | null;
  dataFrom: string | null;
  dataTo: string | null;
  states: number | null;
  logLikelihood: number | null;
  converged: boolean | null;
  iterations: number | null;
  candidates: FitSummary['candidates'] | null;
  timings: Timings;
  error: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface ModelRecord {
  model: ModelJson;
  labels: string[];
  features: string[];
}

function fromRow(r: Record<string, unknown>): RunRecord {
  return {
    id: r.id as string,
    runId: r.run_id as string,
    symbol: r.symbol as string,
    params: r.params as AnalysisParams,
    status: r.status as RunStatus,
    engine: r.engine as string | null,
    bars: r.bars as number | null,
    observations: r.observations as number | null,
    dataFrom: iso(r.data_from),
    dataTo: iso(r.data_to),
    states: r.states as number | null,
    logLikelihood: r.log_likelihood as number | null,
    converged: r.converged as boolean | null,
    iterations: r.iterations as number | null,
    candidates: r.candidates as RunRecord['candidates'],
    timings: (r.timings ?? {}) as Timings,
    error: r.error as string | null,
    startedAt: iso(r.started_at) as string,
    updatedAt: iso(r.updated_at) as string,
    finishedAt: iso(r.finished_at),
  };
}

/**
 * Marks the analysis as running under this Temporal run and clears a previous run's
 * model and regimes, in one statement. Run again by the same run it changes nothing,
 * which makes it safe to retry.
 */
export async function startRun(db: Db, id: string, runId: string, params: AnalysisParams): Promise<boolean> {
  const { rows } = await db.query(
    `WITH started AS (
       INSERT INTO hmm_runs (id, run_id, symbol, params, status)
       VALUES ($1, $2, $3, $4, 'running')
       ON CONFLICT (id) DO UPDATE SET
         run_id = EXCLUDED.run_id, params = EXCLUDED.params, status = 'running', engine = NULL, bars = NULL,
         observations = NULL, data_from = NULL, data_to = NULL, states = NULL, log_likelihood = NULL,
         converged = NULL, iterations = NULL, candidates = NULL, timings = '{}', error = NULL,
         started_at = now(), updated_at = now(), finished_at = NULL
       WHERE hmm_runs.run_id <> EXCLUDED.run_id
       RETURNING id),
     models AS (DELETE FROM hmm_models WHERE run_id IN (SELECT id FROM started)),
     regimes AS (DELETE FROM hmm_regimes WHERE run_id IN (SELECT id FROM started))
     SELECT count(*)::int AS n FROM started`,
    [id, runId, params.symbol, JSON.stringify(params)],
  );
  return rows[0].n > 0;
}

/** Stores the model and the fit's figures. Safe to repeat: an upsert keyed by the analysis, guarded by its run. */
export async function saveModel(
  db: Db,
  id: string,
  runId: string,
  series: SeriesRef,
  fit: FitSummary,
): Promise<boolean> {
  const res = await db.query(
    `UPDATE hmm_runs SET engine = $3, bars = $4, observations = $5, data_from = $6, data_to = $7, states = $8,
       log_likelihood = $9, converged = $10, iterations = $11, candidates = $12, updated_at = now()
     WHERE id = $1 AND run_id = $2`,
    [
      id,
      runId,
      fit.engine,
      series.bars,
      series.observations,
      series.from,
      series.to,
      fit.states,
      fit.logLikelihood,
      fit.converged,
      fit.iterations,
      fit.candidates ? JSON.stringify(fit.candidates) : null,
    ],
  );
  if (res.rowCount === 0) return false;
  await db.query(
    `INSERT INTO hmm_models (run_id, params, labels, features) VALUES ($1, $2, $3, $4)
     ON CONFLICT (run_id) DO UPDATE SET params = EXCLUDED.params, labels = EXCLUDED.labels,
       features = EXCLUDED.features, created_at = now()`,
    [id, JSON.stringify(fit.model), fit.labels, series.features],
  );
  return true;
}

/** Ends the run (completed, failed or cancelled). Guarded by the run id, so repeating it or a stale run changes nothing. */
export async function finishRun(
  db: Db,
  id: string,
  runId: string,
  outcome: { status: Exclude<RunStatus, 'running'>; timings: Timings; error?: string },
): Promise<boolean> {
  const res = await db.query(
    `UPDATE hmm_runs SET status = $3, timings = $4, error = $5, finished_at = coalesce(finished_at, now()),
       updated_at = now()
     WHERE id = $1 AND run_id = $2`,
    [id, runId, outcome.status, JSON.stringify(outcome.timings), outcome.error ?? null],
  );
  return (res.rowCount ?? 0) > 0;
}

export async function getRun(db: Db, id: string): Promise<RunRecord | undefined> {
  const { rows } = await db.query('SELECT * FROM hmm_runs WHERE id = $1', [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function getModel(db: Db, id: string): Promise<ModelRecord | undefined> {
  const { rows } = await db.query('SELECT params, labels, features FROM hmm_models WHERE run_id = $1', [id]);
  return rows[0]
    ? { model: rows[0].params as ModelJson, labels: rows[0].labels as string[], features: rows[0].features as string[] }
    : undefined;
}
