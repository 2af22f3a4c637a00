import { releaseClient, type Pool } from '../../lib/infra/db';
import type { MetricRunSummary } from '../../lib/rollout/analysis-run';
import type { MetricVerdict } from '../../lib/rollout/verdict';
import type { RolloutSpec } from '../../lib/rollout/spec';
import type { Phase, Transition } from '../../lib/rollout/phases';
import { iso } from '../rows';

/**
 * The one module that owns the rollouts, rollout_events and rollout_incidents queries.
 * The workflow numbers its events (seq) and every write is keyed by (rollout, seq), so a
 * retried activity writes nothing twice; a row's phase and weight move only forward in seq.
 */

export interface NewRollout {
  id: string;
  workflowId: string;
  spec: RolloutSpec;
  requestedBy?: string;
  startedAt: number;
}

export async function insertRollout(pool: Pool, r: NewRollout): Promise<void> {
  await pool.query(
    `INSERT INTO rollouts (id, workflow_id, target, version, spec, requested_by, phase, started_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'progressing', to_timestamp($7 / 1000.0))
     ON CONFLICT (id) DO NOTHING`,
    [r.id, r.workflowId, r.spec.target, r.spec.version ?? null, r.spec, r.requestedBy ?? null, r.startedAt],
  );
}

export interface TransitionEvent {
  rolloutId: string;
  seq: number;
  /** Workflow time, ms since the epoch. */
  at: number;
  transition: Transition;
  attempt: number;
  finished: boolean;
}

/** Stores a transition and moves the rollout's row to it; true when this call stored it (not a retry). */
export async function recordTransition(pool: Pool, e: TransitionEvent): Promise<boolean> {
  const t = e.transition;
  const client = await pool.connect();
  let failure: unknown;
  try {
    await client.query('BEGIN');
    const inserted = await client.query(
      `INSERT INTO rollout_events (rollout_id, seq, at, kind, action, from_phase, to_phase, step_index, weight, attempt, reason)
       VALUES ($1, $2, to_timestamp($3 / 1000.0), 'transition', $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (rollout_id, seq) DO NOTHING`,
      [e.rolloutId, e.seq, e.at, t.action, t.from, t.to, t.stepIndex, t.weight, e.attempt, t.reason ?? null],
    );
    await client.query(
      `UPDATE rollouts SET phase = $3, step_index = $4, weight = $5, attempt = $6,
         reason = CASE WHEN $3 IN ('aborted', 'paused') THEN $7 ELSE NULL END,
         last_seq = $2, updated_at = now(),
         finished_at = CASE WHEN $8 THEN coalesce(finished_at, now()) ELSE NULL END
       WHERE id = $1 AND last_seq < $2`,
      [e.rolloutId, e.seq, t.to, t.stepIndex, t.weight, e.attempt, t.reason ?? null, e.finished],
    );
    await client.query('COMMIT');
    return (inserted.rowCount ?? 0) > 0;
  } catch (err) {
    failure = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    releaseClient(client, failure);
  }
}

/** Marks a rollout finished without a transition (its wait for a retry ran out). */
export async function finishRollout(pool: Pool, id: string): Promise<void> {
  await pool.query('UPDATE rollouts SET finished_at = coalesce(finished_at, now()), updated_at = now() WHERE id = $1', [
    id,
  ]);
}

export interface MeasurementEvent {
  rolloutId: string;
  seq: number;
  at: number;
  analysis: 'step' | 'background';
  stepIndex: number;
  weight: number;
  attempt: number;
  verdict: MetricVerdict;
}

const finiteOrNull = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

export async function recordMeasurement(pool: Pool, e: MeasurementEvent): Promise<void> {
  const v = e.verdict;
  await pool.query(
    `INSERT INTO rollout_events (rollout_id, seq, at, kind, step_index, weight, attempt, analysis, metric, verdict,
       canary, baseline, reason, detail)
     VALUES ($1, $2, to_timestamp($3 / 1000.0), 'measurement', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (rollout_id, seq) DO NOTHING`,
    [
      e.rolloutId,
      e.seq,
      e.at,
      e.stepIndex,
      e.weight,
      e.attempt,
      e.analysis,
      v.metric,
      v.verdict,
      finiteOrNull(v.canary),
      finiteOrNull(v.baseline),
      v.reason,
      JSON.stringify({ checks: v.checks, unjudged: v.unjudged ?? null, dryRun: v.dryRun }),
    ],
  );
}

/** The incident an abort leaves: `abort` when a person aborted, `rollback` when the rollout's analysis or traffic did. */
export interface IncidentRecord {
  rolloutId: string;
  seq: number;
  at: number;
  kind: 'rollback' | 'abort';
  /** `aborted by <who>: <why>`. */
  reason: string;
  stepIndex: number;
  weightBefore: number;
  attempt: number;
  failing: MetricRunSummary[];
  lastVerdicts: MetricVerdict[];
}

export async function recordIncident(pool: Pool, i: IncidentRecord): Promise<void> {
  await pool.query(
    `INSERT INTO rollout_incidents (rollout_id, seq, kind, at, reason, step_index, weight_before, attempt, failing, last_verdicts)
     VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), $5, $6, $7, $8, $9, $10)
     ON CONFLICT (rollout_id, seq) DO NOTHING`,
    [
      i.rolloutId,
      i.seq,
      i.kind,
      i.at,
      i.reason,
      i.stepIndex,
      i.weightBefore,
      i.attempt,
      JSON.stringify(i.failing),
      JSON.stringify(i.lastVerdicts),
    ],
  );
}

// ---- reads (the API) -------------------------------------------------------------------------

export interface RolloutRecord {
  id: string;
  workflowId: string;
  target: string;
  version: string | null;
  requestedBy: string | null;
  phase: Phase;
  stepIndex: number;
  weight: number;
  attempt: number;
  reason: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  spec?: RolloutSpec;
}

function toRollout(r: Record<string, unknown>): RolloutRecord {
  return {
    id: r.id as string,
    workflowId: r.workflow_id as string,
    target: r.target as string,
    version: (r.version as string | null) ?? null,
    requestedBy: (r.requested_by as string | null) ?? null,
    phase: r.phase as Phase,
    stepIndex: Number(r.step_index),
    weight: Number(r.weight),
    attempt: Number(r.attempt),
    reason: (r.reason as string | null) ?? null,
    startedAt: iso(r.started_at) as string,
    updatedAt: iso(r.updated_at) as string,
    finishedAt: iso(r.finished_at),
    ...(r.spec ? { spec: r.spec as RolloutSpec } : {}),
  };
}

const columns = `id, workflow_id, target, version, requested_by, phase, step_index, weight, attempt, reason,
  started_at, updated_at, finished_at`;

export async function listRollouts(
  pool: Pool,
  filter: { target?: string; phase?: string; limit?: number } = {},
): Promise<RolloutRecord[]> {
  const { rows } = await pool.query(
    `SELECT ${columns} FROM rollouts
     WHERE ($1::text IS NULL OR target = $1) AND ($2::text IS NULL OR phase = $2)
     ORDER BY started_at DESC LIMIT $3`,
    [filter.target ?? null, filter.phase ?? null, filter.limit ?? 50],
  );
  return rows.map(toRollout);
}

/** The newest rollout run under a workflow id (`rollout-<target>`), with its spec. */
export async function latestRollout(pool: Pool, workflowId: string): Promise<RolloutRecord | undefined> {
  const { rows } = await pool.query(
    `SELECT ${columns}, spec FROM rollouts WHERE workflow_id = $1 ORDER BY started_at DESC LIMIT 1`,
    [workflowId],
  );
  return rows[0] ? toRollout(rows[0]) : undefined;
}

export interface RolloutEventRecord {
  seq: number;
  at: string;
  kind: 'transition' | 'measurement';
  action: string | null;
  fromPhase: string | null;
  toPhase: string | null;
  stepIndex: number | null;
  weight: number | null;
  attempt: number | null;
  analysis: string | null;
  metric: string | null;
  verdict: string | null;
  canary: number | null;
  baseline: number | null;
  reason: string | null;
  detail: unknown;
}

export async function listEvents(
  pool: Pool,
  rolloutId: string,
  opts: { kind?: 'transition' | 'measurement'; limit?: number } = {},
): Promise<RolloutEventRecord[]> {
  const { rows } = await pool.query(
    `SELECT * FROM (
       SELECT seq, at, kind, action, from_phase, to_phase, step_index, weight, attempt, analysis, metric, verdict,
         canary, baseline, reason, detail
       FROM rollout_events WHERE rollout_id = $1 AND ($2::text IS NULL OR kind = $2) ORDER BY seq DESC LIMIT $3
     ) e ORDER BY seq`,
    [rolloutId, opts.kind ?? null, opts.limit ?? 200],
  );
  return rows.map((r) => ({
    seq: r.seq,
    at: iso(r.at) as string,
    kind: r.kind,
    action: r.action,
    fromPhase: r.from_phase,
    toPhase: r.to_phase,
    stepIndex: r.step_index,
    weight: r.weight,
    attempt: r.attempt,
    analysis: r.analysis,
    metric: r.metric,
    verdict: r.verdict,
    canary: r.canary,
    baseline: r.baseline,
    reason: r.reason,
    detail: r.detail,
  }));
}

/** An incident as the API shows it: its time in ISO 8601. */
export type IncidentView = Omit<IncidentRecord, 'rolloutId' | 'at'> & { at: string };

export async function listIncidents(pool: Pool, rolloutId: string): Promise<IncidentView[]> {
  const { rows } = await pool.query(
    `SELECT seq, kind, at, reason, step_index, weight_before, attempt, failing, last_verdicts
     FROM rollout_incidents WHERE rollout_id = $1 ORDER BY seq`,
    [rolloutId],
  );
  return rows.map((r) => ({
    seq: r.seq,
    kind: r.kind,
    at: iso(r.at) as string,
    reason: r.reason,
    stepIndex: r.step_index,
    weightBefore: r.weight_before,
    attempt: r.attempt,
    failing: r.failing,
    lastVerdicts: r.last_verdicts,
  }));
}
