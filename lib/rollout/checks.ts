import { usableSamples } from './measurement';
import { mannWhitney } from './mann-whitney';
import { mean } from './stats';
import type { Check, Verdict } from './verdict';

/**
 * The judge's three checks of one measurement, each with the numbers that decided it:
 * absolute thresholds, limits relative to the baseline, and Kayenta's Mann-Whitney comparison.
 */

export function absoluteCheck(name: string, value: number, cond: { max?: number; min?: number }): Check {
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

export function relativeCheck(
  name: string,
  canary: number,
  baseline: number,
  rel: { maxIncrease?: number; maxDecrease?: number; minDelta: number },
): Check {
  const change = baseline !== 0 ? canary / baseline - 1 : undefined;
  const changeText = change !== undefined ? ` (${change >= 0 ? '+' : ''}${fmt(change * 100)} %)` : '';
  const breach = (limit: number, side: string): Check => ({
    kind: 'relative',
    verdict: 'fail',
    canary,
    baseline,
    limit,
    change,
    message: `${name} ${fmt(canary)} is ${side} = ${fmt(limit)}${changeText}`,
  });
  if (rel.maxIncrease !== undefined) {
    const limit = baseline * (1 + rel.maxIncrease);
    if (canary > limit && canary - baseline > rel.minDelta)
      return breach(limit, `above baseline ${fmt(baseline)} + ${fmt(rel.maxIncrease * 100)} %`);
  }
  if (rel.maxDecrease !== undefined) {
    const limit = baseline * (1 - rel.maxDecrease);
    if (canary < limit && baseline - canary > rel.minDelta)
      return breach(limit, `below baseline ${fmt(baseline)} − ${fmt(rel.maxDecrease * 100)} %`);
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

export function compareCheck(
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
