import { classifyValue, usableSamples, type InconclusiveReason, type ProviderAnswer } from './measurement';
import { mannWhitney, type MannWhitneyResult } from './mann-whitney';
import { mean } from './stats';
import type { MetricSpec } from './spec';

/**
 * The canary judge: one provider answer becomes a verdict on one metric, carrying every
 * number that produced it, and a run of verdicts becomes an analysis outcome under the
 * metric's limits. Nothing here passes without a finite value that met every check.
 */

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** Why a measurement could not be judged; `error` is the provider's failure, counted apart. */
export type UnjudgedReason = InconclusiveReason | 'no-check';

export type Check =
  | { kind: 'absolute'; verdict: Verdict; value: number; max?: number; min?: number; message: string }
  | {
      kind: 'relative';
      verdict: Verdict;
      canary: number;
      baseline: number | null;
      /** The bound the canary had to stay within, from the baseline. */
      limit?: number;
      /** canary ÷ baseline − 1 (0.5 = 50 % higher); absent when the baseline is 0 or missing. */
      change?: number;
      message: string;
    }
  | ({
      kind: 'mann-whitney';
      verdict: Verdict | 'skipped';
      direction: 'increase' | 'decrease';
      alpha: number;
      /** The one-sided p-value in the harmful direction. */
      p?: number;
      /** Ratio of means, canary ÷ baseline: Kayenta's effect size. */
      effectSize?: number;
      tolerance: number;
      message: string;
    } & Partial<MannWhitneyResult>);

export interface MetricVerdict {
  metric: string;
  verdict: Verdict;
  /** Set when the verdict is inconclusive. */
  unjudged?: UnjudgedReason;
  reason: string;
  canary?: number;
  baseline?: number | null;
  checks: Check[];
  dryRun: boolean;
}

export interface JudgeContext {
  /**
   * Whether a baseline takes traffic. At full weight (the post-promotion watch) there is
   * none, so relative limits and the comparison are not checked; only absolute thresholds are.
   */
  baseline: boolean;
}

export function judgeMeasurement(metric: MetricSpec, answer: ProviderAnswer, ctx: JudgeContext): MetricVerdict {
  const base = { metric: metric.name, checks: [] as Check[], dryRun: metric.dryRun };
  if (!answer.ok) {
    return {
      ...base,
      verdict: 'inconclusive',
      unjudged: 'error',
      reason: `${metric.name}: provider error: ${answer.error}`,
    };
  }
  const canary = classifyValue(answer.canary.value, `${metric.name} (canary)`);
  if (!canary.ok) return { ...base, verdict: 'inconclusive', unjudged: canary.reason, reason: canary.message };

  const checks: Check[] = [];
  let unjudged: UnjudgedReason | undefined;
  if (metric.successCondition) checks.push(absoluteCheck(metric.name, canary.value, metric.successCondition));
  let baselineValue: number | null | undefined;
  if (ctx.baseline && metric.relative) {
    const baseline = classifyValue(answer.baseline?.value, `${metric.name} (baseline)`);
    baselineValue = baseline.ok ? baseline.value : (answer.baseline?.value ?? null);
    if (baseline.ok) {
      checks.push(relativeCheck(metric.name, canary.value, baseline.value, metric.relative));
    } else {
      unjudged ??= baseline.reason;
      checks.push({
        kind: 'relative',
        verdict: 'inconclusive',
        canary: canary.value,
        baseline: null,
        message: baseline.message,
      });
    }
  }
  if (ctx.baseline && metric.compare) {
    checks.push(compareCheck(metric.name, answer.canary.samples, answer.baseline?.samples, metric.compare));
  }

  const judged = checks.filter((c) => c.verdict !== 'skipped');
  const failed = judged.filter((c) => c.verdict === 'fail');
  const common = {
    ...base,
    checks,
    canary: canary.value,
    ...(baselineValue !== undefined ? { baseline: baselineValue } : {}),
  };
  if (failed.length > 0) return { ...common, verdict: 'fail', reason: failed.map((c) => c.message).join('; ') };
  const open = judged.find((c) => c.verdict === 'inconclusive');
  if (open) return { ...common, verdict: 'inconclusive', unjudged: unjudged ?? 'no-check', reason: open.message };
  if (judged.length === 0) {
    const why = checks.map((c) => c.message).join('; ') || 'no check applies without a baseline';
    return {
      ...common,
      verdict: 'inconclusive',
      unjudged: 'no-check',
      reason: `${metric.name}: nothing was checked (${why})`,
    };
  }
  return { ...common, verdict: 'pass', reason: judged.map((c) => c.message).join('; ') };
}

function absoluteCheck(name: string, value: number, cond: { max?: number; min?: number }): Check {
  const over = cond.max !== undefined && value > cond.max;
  const under = cond.min !== undefined && value < cond.min;
  const bounds = [cond.min !== undefined ? `≥ ${cond.min}` : '', cond.max !== undefined ? `≤ ${cond.max}` : '']
    .filter(Boolean)
    .join(' and ');
  return {
    kind: 'absolute',
    verdict: over || under ? 'fail' : 'pass',
    value,
    ...cond,
    message: `${name} ${fmt(value)} ${over || under ? 'breaks' : 'keeps'} ${bounds}`,
  };
}

function relativeCheck(
  name: string,
  canary: number,
  baseline: number,
  rel: { maxIncrease?: number; maxDecrease?: number; minDelta: number },
): Check {
  const change = baseline !== 0 ? canary / baseline - 1 : undefined;
  const changeText = change !== undefined ? ` (${change >= 0 ? '+' : ''}${fmt(change * 100)} %)` : '';
  if (rel.maxIncrease !== undefined) {
    const limit = baseline * (1 + rel.maxIncrease);
    if (canary > limit && canary - baseline > rel.minDelta) {
      return {
        kind: 'relative',
        verdict: 'fail',
        canary,
        baseline,
        limit,
        change,
        message: `${name} ${fmt(canary)} is above baseline ${fmt(baseline)} + ${fmt(rel.maxIncrease * 100)} % = ${fmt(limit)}${changeText}`,
      };
    }
  }
  if (rel.maxDecrease !== undefined) {
    const limit = baseline * (1 - rel.maxDecrease);
    if (canary < limit && baseline - canary > rel.minDelta) {
      return {
        kind: 'relative',
        verdict: 'fail',
        canary,
        baseline,
        limit,
        change,
        message: `${name} ${fmt(canary)} is below baseline ${fmt(baseline)} − ${fmt(rel.maxDecrease * 100)} % = ${fmt(limit)}${changeText}`,
      };
    }
  }
  return {
    kind: 'relative',
    verdict: 'pass',
    canary,
    baseline,
    change,
    message: `${name} ${fmt(canary)} is within limits of baseline ${fmt(baseline)}${changeText}`,
  };
}

function compareCheck(
  name: string,
  canaryRaw: number[] | undefined,
  baselineRaw: number[] | undefined,
  spec: { direction: 'increase' | 'decrease'; confidence: number; tolerance: number; minSamples: number },
): Check {
  const alpha = 1 - spec.confidence;
  const common = { kind: 'mann-whitney' as const, direction: spec.direction, alpha, tolerance: spec.tolerance };
  const canary = usableSamples(canaryRaw).samples;
  const baseline = usableSamples(baselineRaw).samples;
  if (canary.length < spec.minSamples || baseline.length < spec.minSamples) {
    return {
      ...common,
      verdict: 'skipped',
      n1: canary.length,
      n2: baseline.length,
      message: `${name} comparison skipped: ${canary.length} canary and ${baseline.length} baseline samples, fewer than ${spec.minSamples}`,
    };
  }
  const test = mannWhitney(canary, baseline);
  const meanBaseline = mean(baseline);
  const meanCanary = mean(canary);
  const effectSize =
    meanBaseline !== 0 ? meanCanary / meanBaseline : meanCanary === 0 ? 1 : meanCanary > 0 ? Infinity : -Infinity;
  const worse = spec.direction === 'increase';
  const p = worse ? test.pGreater : test.pLess;
  const beyond = worse ? effectSize > 1 + spec.tolerance : effectSize < 1 - Math.min(1, spec.tolerance);
  const significant = p < alpha;
  const verdict: Verdict = significant && beyond ? 'fail' : 'pass';
  const what = worse ? 'higher' : 'lower';
  const message =
    verdict === 'fail'
      ? `${name} canary is significantly ${what} than baseline (p = ${fmt(p)} < ${fmt(alpha)}, means ${fmt(meanCanary)} vs ${fmt(meanBaseline)}, ratio ${fmt(effectSize)} beyond tolerance ${fmt(spec.tolerance)})`
      : `${name} canary is not worse than baseline beyond tolerance (p = ${fmt(p)}, ratio of means ${fmt(effectSize)})`;
  return { ...common, ...test, verdict, p, effectSize, message };
}

const fmt = (x: number) =>
  Number.isInteger(x) ? String(x) : Math.abs(x) >= 0.001 ? String(Number(x.toPrecision(4))) : x.toExponential(2);

// ---- analysis runs -------------------------------------------------------------------------

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
