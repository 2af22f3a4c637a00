import type { MetricSpec } from './metric-spec';
import type { MetricVerdict, Verdict } from './verdict';

/** Runs of verdicts under each metric's limits, and the outcome of an analysis over its metrics. */

export type RunOutcome = 'running' | Verdict;

export interface MetricRunSummary {
  metric: string;
  outcome: RunOutcome;
  reason: string;
  measurements: number;
  passed: number;
  failed: number;
  /** Inconclusive for a reason other than a provider error. */
  inconclusive: number;
  errors: number;
  /** The longest run of provider errors in a row. */
  consecutiveErrors: number;
  dryRun: boolean;
}

/** What the run limits count of a verdict: a workflow keeps only this much per measurement. */
export type RunVerdict = Pick<MetricVerdict, 'verdict' | 'unjudged' | 'reason'>;

type Limits = Pick<
  MetricSpec,
  'name' | 'count' | 'failureLimit' | 'consecutiveErrorLimit' | 'inconclusiveLimit' | 'dryRun'
>;

/**
 * A metric's run so far, under its limits (as Argo Rollouts counts them): more failed
 * measurements than failureLimit fail it; more provider errors in a row than
 * consecutiveErrorLimit, or more inconclusive measurements than inconclusiveLimit, make it
 * inconclusive (the rollout then waits for a person). A run that reached its count, or that
 * the workflow ended (`ended`), passes only if some measurement passed: a run where every
 * measurement errored is never successful.
 */
export function metricRunOutcome(
  metric: Limits,
  verdicts: readonly RunVerdict[],
  opts: { ended?: boolean } = {},
): MetricRunSummary {
  let passed = 0;
  let failed = 0;
  let inconclusive = 0;
  let errors = 0;
  let streak = 0;
  let consecutiveErrors = 0;
  for (const v of verdicts) {
    if (v.verdict === 'pass') passed++;
    else if (v.verdict === 'fail') failed++;
    else if (v.unjudged === 'error') errors++;
    else inconclusive++;
    streak = v.unjudged === 'error' ? streak + 1 : 0;
    consecutiveErrors = Math.max(consecutiveErrors, streak);
  }
  const counts = {
    metric: metric.name,
    measurements: verdicts.length,
    passed,
    failed,
    inconclusive,
    errors,
    consecutiveErrors,
    dryRun: metric.dryRun,
  };
  const last = verdicts.at(-1)?.reason;
  if (failed > metric.failureLimit) {
    return {
      ...counts,
      outcome: 'fail',
      reason: `${metric.name}: ${failed} failed measurements, more than failureLimit ${metric.failureLimit} (last: ${lastOf(verdicts, 'fail')})`,
    };
  }
  if (consecutiveErrors > metric.consecutiveErrorLimit) {
    return {
      ...counts,
      outcome: 'inconclusive',
      reason: `${metric.name}: ${consecutiveErrors} provider errors in a row, more than consecutiveErrorLimit ${metric.consecutiveErrorLimit} (last: ${last})`,
    };
  }
  if (inconclusive > metric.inconclusiveLimit) {
    return {
      ...counts,
      outcome: 'inconclusive',
      reason: `${metric.name}: ${inconclusive} inconclusive measurements, more than inconclusiveLimit ${metric.inconclusiveLimit} (last: ${lastOf(verdicts, 'inconclusive')})`,
    };
  }
  const complete = opts.ended || (metric.count !== undefined && verdicts.length >= metric.count);
  if (!complete)
    return {
      ...counts,
      outcome: 'running',
      reason: `${metric.name}: ${verdicts.length}${metric.count ? ` of ${metric.count}` : ''} measurements`,
    };
  if (passed === 0) {
    return {
      ...counts,
      outcome: 'inconclusive',
      reason: `${metric.name}: no measurement passed (${errors} provider errors, ${inconclusive} inconclusive, ${verdicts.length} in all)`,
    };
  }
  return { ...counts, outcome: 'pass', reason: `${metric.name}: ${passed} of ${verdicts.length} measurements passed` };
}

const lastOf = (verdicts: readonly RunVerdict[], verdict: Verdict) =>
  [...verdicts].reverse().find((v) => v.verdict === verdict)?.reason ?? 'none';

export interface AnalysisOutcome {
  outcome: RunOutcome;
  reason: string;
  /** Deciding metrics that failed or were inconclusive: what an incident record names. */
  blocking: MetricRunSummary[];
  metrics: MetricRunSummary[];
}

/**
 * The outcome of an analysis over several metrics: the worst of its deciding metrics
 * (fail, then inconclusive, then running); dry-run metrics are reported and never decide.
 */
export function analysisOutcome(
  metrics: readonly Limits[],
  verdicts: Readonly<Record<string, readonly RunVerdict[]>>,
  opts: { ended?: boolean } = {},
): AnalysisOutcome {
  const summaries = metrics.map((m) => metricRunOutcome(m, verdicts[m.name] ?? [], opts));
  const deciding = summaries.filter((s) => !s.dryRun);
  for (const outcome of ['fail', 'inconclusive', 'running'] as const) {
    const hit = deciding.filter((s) => s.outcome === outcome);
    if (hit.length > 0) {
      return {
        outcome,
        reason: hit.map((s) => s.reason).join('; '),
        blocking: outcome === 'running' ? [] : hit,
        metrics: summaries,
      };
    }
  }
  const reason = deciding.length ? deciding.map((s) => s.reason).join('; ') : 'only dry-run metrics: nothing decides';
  return { outcome: 'pass', reason, blocking: [], metrics: summaries };
}
