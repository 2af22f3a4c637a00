import { analysisOutcome, metricRunOutcome } from '../../lib/rollout/analysis-run';
import { judgeMeasurement } from '../../lib/rollout/judge';
import type { MetricVerdict } from '../../lib/rollout/verdict';
import { mannWhitney, normalSf } from '../../lib/rollout/mann-whitney';
import type { ProviderAnswer } from '../../lib/rollout/measurement';
import { answer, metric, withBaseline } from '../helpers/rollout-judge';

/*
 * Expected U and p-values below were computed independently with SciPy 1.x:
 *   scipy.stats.mannwhitneyu(canary, baseline, alternative=..., method='asymptotic', use_continuity=True)
 * (statistic = U of the first sample), means and Hodges-Lehmann shifts with numpy:
 *   np.mean(x)/np.mean(y), np.median(np.subtract.outer(x, y)).
 */

/** Samples on each side, and the expected U, ratio of means, shift and p-values (two-sided, greater, less). */
const vector = (
  canary: number[],
  baseline: number[],
  expected: { u1: number; meanRatio: number; shift: number },
  [pTwoSided, pGreater, pLess]: [number, number, number],
) => ({ canary, baseline, ...expected, pTwoSided, pGreater, pLess });

const vectors = {
  // Latency samples (s): the canary about 34 % slower.
  shift: vector(
    [0.21, 0.25, 0.24, 0.3, 0.28, 0.27, 0.35, 0.31, 0.29, 0.33, 0.26, 0.32],
    [0.2, 0.22, 0.19, 0.21, 0.23, 0.18, 0.24, 0.2, 0.22, 0.21, 0.19, 0.25],
    { u1: 136, meanRatio: 1.34251968503937, shift: 0.07 },
    [0.00023937409710953544, 0.00011968704855476772, 0.9999047213518473],
  ),
  // Discrete values with many ties: the tie correction matters.
  ties: vector(
    [1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 5],
    [1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5],
    { u1: 95, meanRatio: 1.2727272727272727, shift: 1 },
    [0.18310259953509822, 0.09155129976754911, 0.917800812506537],
  ),
  same: vector(
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
    { u1: 50, meanRatio: 1, shift: 0 },
    [1, 0.5151319787899796, 0.5151319787899796],
  ),
  // A satisfaction score that dropped.
  lower: vector(
    [0.9, 0.91, 0.89, 0.92, 0.88, 0.9, 0.87, 0.91, 0.89, 0.9],
    [0.97, 0.96, 0.98, 0.95, 0.97, 0.99, 0.96, 0.97, 0.98, 0.96],
    { u1: 0, meanRatio: 0.9256965944272445, shift: -0.07 },
    [0.00016780051625813787, 0.99993826998746, 8.390025812906893e-5],
  ),
};

const relClose = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(expected), 1e-12) + 1e-15);

describe('Mann-Whitney U', () => {
  it.each(Object.entries(vectors))('matches SciPy on the %s vector', (_name, v) => {
    const r = mannWhitney(v.canary, v.baseline);
    expect(r.n1).toBe(v.canary.length);
    expect(r.u1).toBe(v.u1);
    expect(r.u1 + r.u2).toBe(v.canary.length * v.baseline.length);
    relClose(r.pTwoSided, v.pTwoSided);
    relClose(r.pGreater, v.pGreater);
    relClose(r.pLess, v.pLess);
    expect(r.shift).toBeCloseTo(v.shift, 10);
  });

  it('gives p = 1 when every value is the same (no variance to test)', () => {
    const r = mannWhitney([3, 3, 3], [3, 3]);
    expect(r).toMatchObject({ u1: 3, z: 0, pTwoSided: 1, pGreater: 1, pLess: 1 });
  });

  it('refuses an empty side', () => {
    expect(() => mannWhitney([], [1])).toThrow('Mann-Whitney needs samples on both sides, got 0 and 1');
  });

  it('computes normal tail probabilities to SciPy precision (norm.sf)', () => {
    // scipy.stats.norm.sf(z) for z = 1.96, 3, 5 and -1
    relClose(normalSf(1.96), 0.024997895148220435);
    relClose(normalSf(3), 0.0013498980316300933);
    relClose(normalSf(5), 2.866515718791933e-7);
    relClose(normalSf(-1), 0.8413447460685429);
  });
});

describe('judging one measurement', () => {
  const absolute = metric({ successCondition: { max: 2 } });

  it('passes and fails absolute thresholds, with the numbers', () => {
    const pass = judgeMeasurement(absolute, answer(1.5), withBaseline);
    expect(pass).toMatchObject({
      verdict: 'pass',
      canary: 1.5,
      checks: [{ kind: 'absolute', verdict: 'pass', value: 1.5, max: 2 }],
    });
    const fail = judgeMeasurement(absolute, answer(2.5), withBaseline);
    expect(fail).toMatchObject({
      verdict: 'fail',
      checks: [{ kind: 'absolute', verdict: 'fail', value: 2.5, max: 2 }],
    });
    expect(fail.reason).toBe('latency 2.5 breaks ≤ 2');
    expect(judgeMeasurement(metric({ successCondition: { min: 0.95 } }), answer(0.9), withBaseline).verdict).toBe(
      'fail',
    );
  });

  it.each([
    ['an empty result', answer(null), 'empty', 'latency (canary): the query returned no data'],
    ['NaN', answer(NaN), 'nan', 'latency (canary): the value is NaN'],
    ['+Inf', answer(Infinity), 'infinite', 'latency (canary): the value is +Inf'],
    ['-Inf', answer(-Infinity), 'infinite', 'latency (canary): the value is -Inf'],
    [
      'a provider that is down',
      { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:9090' } as ProviderAnswer,
      'error',
      'latency: provider error: connect ECONNREFUSED 127.0.0.1:9090',
    ],
  ])('never passes %s: inconclusive with the reason', (_what, answer, unjudged, reason) => {
    // A min-only threshold would pass anything "not below": NaN and -Inf must still not pass.
    for (const m of [absolute, metric({ successCondition: { min: -1 } })]) {
      const v = judgeMeasurement(m, answer, withBaseline);
      expect(v).toMatchObject({ verdict: 'inconclusive', unjudged, reason });
    }
  });

  it('checks relative limits against the baseline and shows the change', () => {
    const rel = metric({ relative: { maxIncrease: 0.5 } });
    const fail = judgeMeasurement(rel, answer(0.04, 0.02), withBaseline);
    expect(fail.verdict).toBe('fail');
    expect(fail.checks[0]).toMatchObject({ kind: 'relative', canary: 0.04, baseline: 0.02, limit: 0.03 });
    expect((fail.checks[0] as { change: number }).change).toBeCloseTo(1, 10);
    expect(judgeMeasurement(rel, answer(0.029, 0.02), withBaseline).verdict).toBe('pass');
    // Below minDelta an increase does not fail, even from a baseline at 0.
    const floored = metric({ relative: { maxIncrease: 0.5, minDelta: 0.01 } });
    expect(judgeMeasurement(floored, answer(0.005, 0), withBaseline).verdict).toBe('pass');
    expect(judgeMeasurement(floored, answer(0.02, 0), withBaseline).verdict).toBe('fail');
    const down = metric({ relative: { maxDecrease: 0.1 } });
    expect(judgeMeasurement(down, answer(0.85, 0.96), withBaseline).verdict).toBe('fail');
    expect(judgeMeasurement(down, answer(0.9, 0.96), withBaseline).verdict).toBe('pass');
  });

  it('is inconclusive when the baseline is empty or NaN, even if the canary meets its threshold', () => {
    const both = metric({ successCondition: { max: 2 }, relative: { maxIncrease: 0.3 } });
    expect(judgeMeasurement(both, answer(1, null), withBaseline)).toMatchObject({
      verdict: 'inconclusive',
      unjudged: 'empty',
      reason: 'latency (baseline): the query returned no data',
    });
    expect(judgeMeasurement(both, answer(1, NaN), withBaseline)).toMatchObject({
      verdict: 'inconclusive',
      unjudged: 'nan',
    });
    // A failing threshold still fails: the missing baseline cannot save the canary.
    expect(judgeMeasurement(both, answer(3, null), withBaseline).verdict).toBe('fail');
  });

  it('judges only absolute thresholds when no baseline takes traffic, and nothing-checked is inconclusive', () => {
    const both = metric({ successCondition: { max: 2 }, relative: { maxIncrease: 0.3 } });
    const v = judgeMeasurement(both, answer(1.2), { baseline: false });
    expect(v.verdict).toBe('pass');
    expect(v.checks.map((c) => c.kind)).toEqual(['absolute']);
    const relOnly = judgeMeasurement(metric({ relative: { maxIncrease: 0.3 } }), answer(1.2), { baseline: false });
    expect(relOnly).toMatchObject({ verdict: 'inconclusive', unjudged: 'no-check' });
  });

  it('fails a significant increase beyond the tolerance, as Kayenta does', () => {
    const v = vectors.shift;
    const samples = { canary: v.canary, baseline: v.baseline };
    const strict = judgeMeasurement(metric({ compare: { tolerance: 0.3 } }), answer(0.3, 0.22, samples), withBaseline);
    expect(strict.verdict).toBe('fail');
    const check = strict.checks[0] as unknown as Record<string, number>;
    expect(check.u1).toBe(v.u1);
    relClose(check.p, v.pGreater);
    expect(check.effectSize).toBeCloseTo(v.meanRatio, 12);
    expect(check.alpha).toBeCloseTo(0.05, 12);
    // Significant, but within a 40 % tolerance: the effect is too small to fail.
    expect(
      judgeMeasurement(metric({ compare: { tolerance: 0.4 } }), answer(0.3, 0.22, samples), withBaseline).verdict,
    ).toBe('pass');
    // Not significant (p ≈ 0.092 one-sided) although the means differ by 27 %.
    expect(
      judgeMeasurement(
        metric({ compare: {} }),
        answer(3, 3, { canary: vectors.ties.canary, baseline: vectors.ties.baseline }),
        withBaseline,
      ).verdict,
    ).toBe('pass');
    // A drop is harmful for a "decrease" metric and harmless for an "increase" one.
    const lower = { canary: vectors.lower.canary, baseline: vectors.lower.baseline };
    expect(
      judgeMeasurement(
        metric({ compare: { direction: 'decrease', tolerance: 0.05 } }),
        answer(0.9, 0.97, lower),
        withBaseline,
      ).verdict,
    ).toBe('fail');
    expect(
      judgeMeasurement(metric({ compare: { direction: 'increase' } }), answer(0.9, 0.97, lower), withBaseline).verdict,
    ).toBe('pass');
  });

  it('skips the comparison below minSamples, drops non-finite samples, and does not pass on a skipped check alone', () => {
    const few = { canary: [1, 2, NaN, Infinity], baseline: [1, 2, 3] };
    const v = judgeMeasurement(metric({ compare: { minSamples: 3 } }), answer(1, 1, few), withBaseline);
    expect(v.checks[0]).toMatchObject({ kind: 'mann-whitney', verdict: 'skipped', n1: 2, n2: 3 });
    expect(v).toMatchObject({ verdict: 'inconclusive', unjudged: 'no-check' });
    const withThreshold = judgeMeasurement(
      metric({ compare: { minSamples: 3 }, successCondition: { max: 2 } }),
      answer(1, 1, few),
      withBaseline,
    );
    expect(withThreshold.verdict).toBe('pass');
  });
});

const verdict = (v: 'pass' | 'fail' | 'inconclusive' | 'error'): MetricVerdict => ({
  metric: 'm',
  verdict: v === 'error' ? 'inconclusive' : v,
  ...(v === 'error' ? { unjudged: 'error' as const } : v === 'inconclusive' ? { unjudged: 'empty' as const } : {}),
  reason: v,
  checks: [],
  dryRun: false,
});
const run = (...vs: ('pass' | 'fail' | 'inconclusive' | 'error')[]) => vs.map(verdict);
const limits = { name: 'm', count: 5, failureLimit: 1, consecutiveErrorLimit: 2, inconclusiveLimit: 1, dryRun: false };

describe('analysis runs', () => {
  it('is running until its count, then passes when within every limit', () => {
    expect(metricRunOutcome(limits, run('pass', 'fail')).outcome).toBe('running');
    const done = metricRunOutcome(limits, run('pass', 'fail', 'inconclusive', 'error', 'pass'));
    expect(done).toMatchObject({
      outcome: 'pass',
      passed: 2,
      failed: 1,
      inconclusive: 1,
      errors: 1,
      consecutiveErrors: 1,
    });
  });

  it('fails past failureLimit at once, before its count', () => {
    expect(metricRunOutcome(limits, run('fail', 'pass', 'fail'))).toMatchObject({ outcome: 'fail', failed: 2 });
    expect(metricRunOutcome({ ...limits, failureLimit: 0 }, run('fail')).outcome).toBe('fail');
  });

  it('is inconclusive past consecutiveErrorLimit, but errors that recover do not add up', () => {
    expect(metricRunOutcome(limits, run('error', 'error', 'error'))).toMatchObject({
      outcome: 'inconclusive',
      consecutiveErrors: 3,
    });
    expect(metricRunOutcome(limits, run('error', 'error', 'pass', 'error', 'error')).outcome).toBe('pass');
  });

  it('is inconclusive past inconclusiveLimit (provider errors are counted apart)', () => {
    expect(metricRunOutcome(limits, run('inconclusive', 'pass', 'inconclusive'))).toMatchObject({
      outcome: 'inconclusive',
      inconclusive: 2,
    });
  });

  it('never succeeds when no measurement passed, even within every limit', () => {
    const lax = { ...limits, consecutiveErrorLimit: 100, inconclusiveLimit: 100 };
    const allErrors = metricRunOutcome(lax, run('error', 'error', 'error', 'error', 'error'));
    expect(allErrors).toMatchObject({ outcome: 'inconclusive', errors: 5 });
    expect(allErrors.reason).toBe('m: no measurement passed (5 provider errors, 0 inconclusive, 5 in all)');
    expect(metricRunOutcome({ ...lax, count: undefined }, run('inconclusive'), { ended: true }).outcome).toBe(
      'inconclusive',
    );
    expect(metricRunOutcome({ ...lax, count: undefined }, [], { ended: true }).outcome).toBe('inconclusive');
  });

  it('a background run (no count) runs until ended', () => {
    const bg = { ...limits, count: undefined };
    expect(metricRunOutcome(bg, run('pass', 'pass', 'pass', 'pass', 'pass', 'pass')).outcome).toBe('running');
    expect(metricRunOutcome(bg, run('pass'), { ended: true }).outcome).toBe('pass');
  });

  it('takes the worst deciding metric; dry-run metrics are reported and never decide', () => {
    const a = { ...limits, name: 'a' };
    const b = { ...limits, name: 'b' };
    const dry = { ...limits, name: 'dry', dryRun: true };
    const out = analysisOutcome([a, b, dry], {
      a: run('pass', 'pass', 'pass', 'pass', 'pass'),
      b: run('inconclusive', 'inconclusive'),
      dry: run('fail', 'fail'),
    });
    expect(out.outcome).toBe('inconclusive');
    expect(out.blocking.map((s) => s.metric)).toEqual(['b']);
    expect(out.metrics.find((s) => s.metric === 'dry')?.outcome).toBe('fail');
    const failing = analysisOutcome([a, b], { a: run('fail', 'fail'), b: run('inconclusive', 'inconclusive') });
    expect(failing).toMatchObject({ outcome: 'fail', blocking: [{ metric: 'a' }] });
    expect(analysisOutcome([a, b], { a: run('pass') }).outcome).toBe('running');
    expect(analysisOutcome([dry], { dry: run('fail', 'fail') }).outcome).toBe('pass');
  });
});
