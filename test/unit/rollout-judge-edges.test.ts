import { analysisOutcome, metricRunOutcome } from '../../lib/rollout/analysis-run';
import { judgeMeasurement } from '../../lib/rollout/judge';
import type { MetricVerdict } from '../../lib/rollout/verdict';
import type { ProviderAnswer } from '../../lib/rollout/measurement';
import type { MetricSpec } from '../../lib/rollout/metric-spec';
import { answer, metric, withBaseline } from '../helpers/rollout-judge';

/**
 * The judge at its edges: values exactly on a bound, the reasons an operator reads,
 * and how a run of verdicts is summed up. The Mann-Whitney figures come from the
 * `shift` vector of rollout-judge.test.ts (checked there against SciPy).
 */
const judge = (m: MetricSpec, a: ProviderAnswer) => judgeMeasurement(m, a, withBaseline);

describe('absolute thresholds', () => {
  it('a value exactly on a bound keeps it; the reason names both bounds', () => {
    const both = metric({ successCondition: { min: 0.5, max: 2 } });
    expect(judge(both, answer(2))).toMatchObject({ verdict: 'pass', reason: 'latency 2 keeps ≥ 0.5 and ≤ 2' });
    expect(judge(both, answer(0.5))).toMatchObject({ verdict: 'pass', reason: 'latency 0.5 keeps ≥ 0.5 and ≤ 2' });
    expect(judge(both, answer(0.4))).toMatchObject({ verdict: 'fail', reason: 'latency 0.4 breaks ≥ 0.5 and ≤ 2' });
    expect(judge(metric({ successCondition: { min: 1 } }), answer(5))).toMatchObject({
      verdict: 'pass',
      reason: 'latency 5 keeps ≥ 1',
    });
  });

  it('numbers read as an operator reads them: whole, four significant digits, or exponent below 0.001', () => {
    const m = metric({ successCondition: { max: 2 } });
    expect(judge(m, answer(1.23456)).reason).toBe('latency 1.235 keeps ≤ 2');
    expect(judge(m, answer(0.001)).reason).toBe('latency 0.001 keeps ≤ 2');
    expect(judge(m, answer(0.000123)).reason).toBe('latency 1.23e-4 keeps ≤ 2');
  });

  it('a verdict without a relative limit carries no baseline', () => {
    const v = judge(metric({ successCondition: { max: 2 } }), answer(1, 1));
    expect('baseline' in v).toBe(false);
  });
});

describe('relative limits', () => {
  const up = metric({ relative: { maxIncrease: 0.5 } });

  it('above baseline × (1 + maxIncrease) fails, with the limit and the change', () => {
    const v = judge(up, answer(1.6, 1));
    expect(v).toMatchObject({
      verdict: 'fail',
      canary: 1.6,
      baseline: 1,
      reason: 'latency 1.6 is above baseline 1 + 50 % = 1.5 (+60 %)',
      checks: [{ kind: 'relative', verdict: 'fail', limit: 1.5 }],
    });
    expect((v.checks[0] as { change: number }).change).toBeCloseTo(0.6, 12);
  });

  it('exactly at the limit passes; within limits says by how much', () => {
    expect(judge(up, answer(1.5, 1))).toMatchObject({
      verdict: 'pass',
      reason: 'latency 1.5 is within limits of baseline 1 (+50 %)',
    });
    expect(judge(up, answer(0.8, 1)).reason).toBe('latency 0.8 is within limits of baseline 1 (-20 %)');
  });

  it('a baseline of 0 has no change to show', () => {
    expect(judge(metric({ relative: { maxIncrease: 0.5, minDelta: 1 } }), answer(0.5, 0)).reason).toBe(
      'latency 0.5 is within limits of baseline 0',
    );
  });

  it('minDelta: a rise beyond the ratio but not beyond minDelta passes; just beyond it fails', () => {
    const m = metric({ relative: { maxIncrease: 0.5, minDelta: 1 } });
    expect(judge(m, answer(3, 2)).verdict).toBe('pass'); // limit 3, not above it
    expect(judge(m, answer(2, 1)).verdict).toBe('pass'); // above 1.5, but by exactly minDelta
    expect(judge(m, answer(2.01, 1)).verdict).toBe('fail');
  });

  it('below baseline × (1 − maxDecrease) fails; at the limit or by no more than minDelta it passes', () => {
    const down = metric({ relative: { maxDecrease: 0.1 } });
    expect(judge(down, answer(0.8, 1))).toMatchObject({
      verdict: 'fail',
      reason: 'latency 0.8 is below baseline 1 − 10 % = 0.9 (-20 %)',
      checks: [{ kind: 'relative', verdict: 'fail', limit: 0.9 }],
    });
    expect(judge(down, answer(0.9, 1)).verdict).toBe('pass');
    expect(judge(down, answer(5, 1)).verdict).toBe('pass'); // only a decrease is limited
    const delta = metric({ relative: { maxDecrease: 0.1, minDelta: 0.2 } });
    expect(judge(delta, answer(0.8, 1)).verdict).toBe('pass');
    expect(judge(delta, answer(0.79, 1)).verdict).toBe('fail');
    expect(judge(up, answer(0.1, 1)).verdict).toBe('pass'); // only an increase is limited
  });

  it('a baseline that is missing or NaN makes the verdict inconclusive, and shows what it was', () => {
    const missing = judge(up, answer(1));
    expect(missing).toMatchObject({ verdict: 'inconclusive', unjudged: 'empty', baseline: null });
    expect(missing.reason).toBe('latency (baseline): the query returned no data');
    const nan = judge(up, answer(1, NaN));
    expect(nan).toMatchObject({ verdict: 'inconclusive', unjudged: 'nan' });
    expect(nan.baseline).toBeNaN();
  });

  it('without a baseline taking traffic nothing relative is checked, and the verdict says so', () => {
    expect(judgeMeasurement(up, answer(9, 1), { baseline: false })).toMatchObject({
      verdict: 'inconclusive',
      unjudged: 'no-check',
      reason: 'latency: nothing was checked (no check applies without a baseline)',
      checks: [],
    });
  });
});

describe('several checks', () => {
  it('a pass names every check; a fail names every failed one', () => {
    const m = metric({ successCondition: { max: 2 }, relative: { maxIncrease: 0.5 } });
    expect(judge(m, answer(1, 1)).reason).toBe('latency 1 keeps ≤ 2; latency 1 is within limits of baseline 1 (+0 %)');
    expect(judge(m, answer(3, 1)).reason).toBe(
      'latency 3 breaks ≤ 2; latency 3 is above baseline 1 + 50 % = 1.5 (+200 %)',
    );
  });
});

describe('the Mann-Whitney comparison', () => {
  const canary = [0.21, 0.25, 0.24, 0.3, 0.28, 0.27, 0.35, 0.31, 0.29, 0.33, 0.26, 0.32];
  const baseline = [0.2, 0.22, 0.19, 0.21, 0.23, 0.18, 0.24, 0.2, 0.22, 0.21, 0.19, 0.25];
  const compare = (c: Record<string, unknown>) => metric({ compare: { minSamples: 10, ...c } });

  it('a significant rise beyond tolerance fails, with p, the means and their ratio', () => {
    const v = judge(compare({}), answer(0.28, 0.21, { canary, baseline }));
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe(
      'latency canary is significantly higher than baseline (p = 1.20e-4 < 0.05, means 0.2842 vs 0.2117, ratio 1.343 beyond tolerance 0)',
    );
  });

  it('a significant rise within tolerance passes; a rise exactly at the tolerance is not beyond it', () => {
    const within = judge(compare({ tolerance: 0.5 }), answer(0.28, 0.21, { canary, baseline }));
    expect(within.verdict).toBe('pass');
    expect(within.reason).toBe(
      'latency canary is not worse than baseline beyond tolerance (p = 1.20e-4, ratio of means 1.343)',
    );
    const doubled = baseline.map((b) => b * 2);
    expect(judge(compare({ tolerance: 1 }), answer(0.4, 0.2, { canary: doubled, baseline })).verdict).toBe('pass');
    expect(judge(compare({ tolerance: 0.99 }), answer(0.4, 0.2, { canary: doubled, baseline })).verdict).toBe('fail');
  });

  it('for a metric that must not fall, a significant drop fails and the reason says lower', () => {
    const v = judge(compare({ direction: 'decrease' }), answer(0.21, 0.28, { canary: baseline, baseline: canary }));
    expect(v.verdict).toBe('fail');
    expect(v.reason).toMatch(/^latency canary is significantly lower than baseline \(p = 1\.20e-4 < 0\.05/);
    // A tolerance of 1 or more allows any drop: a positive metric cannot fall below 0.
    expect(
      judge(
        compare({ direction: 'decrease', tolerance: 2 }),
        answer(0.21, 0.28, { canary: baseline, baseline: canary }),
      ).verdict,
    ).toBe('pass');
  });

  it('a baseline whose mean is 0: any rise is an infinite ratio, no change a ratio of 1', () => {
    const zeros = Array(10).fill(0);
    const ones = Array.from({ length: 10 }, (_, i) => i + 1);
    const rise = judge(compare({}), answer(5, 0, { canary: ones, baseline: zeros }));
    expect(rise).toMatchObject({ verdict: 'fail', checks: [{ kind: 'mann-whitney', effectSize: Infinity }] });
    const flat = judge(compare({}), answer(0, 0, { canary: zeros, baseline: zeros }));
    expect(flat).toMatchObject({ verdict: 'pass', checks: [{ effectSize: 1 }] });
    const drop = judge(
      compare({ direction: 'decrease' }),
      answer(-5, 0, { canary: ones.map((x) => -x), baseline: zeros }),
    );
    expect(drop).toMatchObject({ verdict: 'fail', checks: [{ effectSize: -Infinity }] });
  });

  it('too few samples on either side skips the comparison, and a verdict of skipped checks only is not a pass', () => {
    const v = judge(compare({}), answer(0.28, 0.21, { canary: canary.slice(0, 9), baseline }));
    expect(v).toMatchObject({
      verdict: 'inconclusive',
      unjudged: 'no-check',
      reason:
        'latency: nothing was checked (latency comparison skipped: 9 canary and 12 baseline samples, fewer than 10)',
      checks: [{ kind: 'mann-whitney', verdict: 'skipped', n1: 9, n2: 12 }],
    });
    expect(judge(compare({}), answer(0.28, 0.21, { canary, baseline: baseline.slice(0, 9) })).verdict).toBe(
      'inconclusive',
    );
  });
});

const limits = (over: Partial<MetricSpec> = {}) =>
  ({
    name: 'latency',
    failureLimit: 0,
    consecutiveErrorLimit: 1,
    inconclusiveLimit: 1,
    dryRun: false,
    ...over,
  }) as MetricSpec;
const v = (verdict: MetricVerdict['verdict'], reason: string, unjudged?: MetricVerdict['unjudged']): MetricVerdict => ({
  metric: 'latency',
  verdict,
  reason,
  checks: [],
  dryRun: false,
  ...(unjudged ? { unjudged } : {}),
});

describe('a run of verdicts', () => {
  it('a failed run names the count, the limit and the latest failure', () => {
    const s = metricRunOutcome(limits(), [v('fail', 'first'), v('pass', 'ok'), v('fail', 'second')]);
    expect(s).toMatchObject({ outcome: 'fail', failed: 2 });
    expect(s.reason).toBe('latency: 2 failed measurements, more than failureLimit 0 (last: second)');
  });

  it('provider errors in a row beyond the limit name the latest measurement', () => {
    const s = metricRunOutcome(limits(), [
      v('pass', 'ok'),
      v('inconclusive', 'down 1', 'error'),
      v('inconclusive', 'down 2', 'error'),
    ]);
    expect(s).toMatchObject({ outcome: 'inconclusive', consecutiveErrors: 2, errors: 2 });
    expect(s.reason).toBe('latency: 2 provider errors in a row, more than consecutiveErrorLimit 1 (last: down 2)');
  });

  it('inconclusive measurements beyond the limit name the latest inconclusive one', () => {
    const s = metricRunOutcome(limits(), [
      v('inconclusive', 'empty 1', 'empty'),
      v('inconclusive', 'empty 2', 'nan'),
      v('pass', 'ok'),
    ]);
    expect(s.reason).toBe('latency: 2 inconclusive measurements, more than inconclusiveLimit 1 (last: empty 2)');
  });

  it('runs until its count, saying how far it is; complete, it passes naming how many passed', () => {
    expect(metricRunOutcome(limits({ count: 3 }), [v('pass', 'a'), v('pass', 'b')])).toMatchObject({
      outcome: 'running',
      reason: 'latency: 2 of 3 measurements',
    });
    expect(metricRunOutcome(limits(), [v('pass', 'a')])).toMatchObject({
      outcome: 'running',
      reason: 'latency: 1 measurements',
    });
    expect(metricRunOutcome(limits({ count: 3 }), [v('pass', 'a'), v('pass', 'b'), v('pass', 'c')])).toMatchObject({
      outcome: 'pass',
      reason: 'latency: 3 of 3 measurements passed',
    });
  });

  it('a complete run where nothing passed is inconclusive, with the tally', () => {
    const s = metricRunOutcome(
      limits({ consecutiveErrorLimit: 5 }),
      [v('inconclusive', 'x', 'error'), v('inconclusive', 'y', 'empty')],
      {
        ended: true,
      },
    );
    expect(s).toMatchObject({
      outcome: 'inconclusive',
      reason: 'latency: no measurement passed (1 provider errors, 1 inconclusive, 2 in all)',
    });
  });
});

describe('an analysis over several metrics', () => {
  const a = limits({ name: 'a' });
  const b = limits({ name: 'b' });

  it('every failing metric is named and blocks; a running analysis blocks on nothing', () => {
    const failing = analysisOutcome([a, b], { a: [v('fail', 'x')], b: [v('fail', 'y')] });
    expect(failing.outcome).toBe('fail');
    expect(failing.reason).toBe(
      'a: 1 failed measurements, more than failureLimit 0 (last: x); b: 1 failed measurements, more than failureLimit 0 (last: y)',
    );
    expect(failing.blocking.map((s) => s.metric)).toEqual(['a', 'b']);
    const running = analysisOutcome([a, b], { a: [v('pass', 'ok')] });
    expect(running).toMatchObject({ outcome: 'running', reason: 'a: 1 measurements; b: 0 measurements', blocking: [] });
    expect(running.metrics.map((m) => m.measurements)).toEqual([1, 0]);
  });

  it('a pass names every deciding metric; only dry-run metrics decide nothing', () => {
    const passing = analysisOutcome([a, b], { a: [v('pass', 'ok')], b: [v('pass', 'ok')] }, { ended: true });
    expect(passing).toMatchObject({
      outcome: 'pass',
      reason: 'a: 1 of 1 measurements passed; b: 1 of 1 measurements passed',
      blocking: [],
    });
    const dry = analysisOutcome([limits({ name: 'd', dryRun: true })], { d: [v('fail', 'x')] }, { ended: true });
    expect(dry).toMatchObject({ outcome: 'pass', reason: 'only dry-run metrics: nothing decides', blocking: [] });
    expect(dry.metrics[0].outcome).toBe('fail');
  });
});
