import { absoluteCheck, compareCheck, relativeCheck } from './checks';
import { classifyValue, type ProviderAnswer } from './measurement';
import type { MetricSpec } from './metric-spec';
import type { Check, MetricVerdict, UnjudgedReason } from './verdict';

/**
 * The canary judge: one provider answer becomes a verdict on one metric, carrying every
 * number that produced it (./analysis-run turns a run of verdicts into an analysis outcome
 * under the metric's limits). Nothing here passes without a finite value that met every check.
 */

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
