import type { Server } from 'node:http';
import { createPrometheusProvider } from '../../activities/rollout/prometheus-provider';
import { analysisOutcome } from '../../lib/rollout/analysis-run';
import { judgeMeasurement } from '../../lib/rollout/judge';
import type { MetricVerdict } from '../../lib/rollout/verdict';
import type { ProviderAnswer } from '../../lib/rollout/measurement';
import { metricSpec, type MetricSpec } from '../../lib/rollout/metric-spec';
import { eventually } from '../helpers/http';
import {
  closeServer,
  rolloutPorts,
  startHttpServer,
  startPrometheus,
  type PrometheusHandle,
} from '../helpers/rollout-services';

/**
 * The Prometheus provider against a real Prometheus (the Debian package) scraping an
 * exporter that this test serves, so every value, the empty result, NaN and ±Inf come
 * through Prometheus' own API.
 */
describe('Prometheus metrics provider', () => {
  let prometheus: PrometheusHandle;
  let exporter: Server;
  const gauges: Record<string, number | string> = {
    'demo_error_ratio{version="canary"}': 0.02,
    'demo_error_ratio{version="stable"}': 0.01,
    'demo_latency_seconds{version="canary"}': 0.4,
    'demo_latency_seconds{version="stable"}': 0.3,
    demo_nan: 'NaN',
    demo_inf: '+Inf',
    demo_neg_inf: '-Inf',
  };

  beforeAll(async () => {
    exporter = await startHttpServer(rolloutPorts.exporter, (_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        Object.entries(gauges)
          .map(([k, v]) => `${k} ${v}\n`)
          .join(''),
      );
    });
    prometheus = await startPrometheus();
    await eventually(
      'Prometheus to have scraped the exporter',
      async () => {
        const res = await fetch(`${prometheus.url}/api/v1/query?query=demo_inf`);
        const body = (await res.json()) as { data: { result: unknown[] } };
        return body.data.result.length > 0 ? true : undefined;
      },
      60_000,
    );
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await closeServer(exporter);
  });

  const provider = () => createPrometheusProvider({ baseUrl: prometheus.url, timeoutMs: 20_000, samplesPerWindow: 30 });
  const metric = (query: string, m: Record<string, unknown> = { successCondition: { max: 0.05 } }): MetricSpec =>
    metricSpec.parse({ name: 'm', provider: { type: 'prometheus', query }, window: '30s', ...m });
  const measure = (m: MetricSpec, baseline = true) =>
    provider().measure(m, { target: 'shop', at: Date.now(), baseline });
  const judge = async (m: MetricSpec, baseline = true) => judgeMeasurement(m, await measure(m, baseline), { baseline });

  it('reads one value per variant and judges relative to the baseline', async () => {
    const m = metric('sum(demo_error_ratio{version="{{variant}}"})', {
      successCondition: { max: 0.05 },
      relative: { maxIncrease: 0.5 },
    });
    const answer = await measure(m);
    expect(answer).toMatchObject({
      ok: true,
      canary: { value: 0.02 },
      baseline: { value: 0.01 },
      query: { canary: 'sum(demo_error_ratio{version="canary"})', baseline: 'sum(demo_error_ratio{version="stable"})' },
    });
    const v = judgeMeasurement(m, answer, { baseline: true });
    expect(v.verdict).toBe('fail'); // +100 % over the baseline, though under the absolute 5 %
    expect(v.checks.map((c) => [c.kind, c.verdict])).toEqual([
      ['absolute', 'pass'],
      ['relative', 'fail'],
    ]);
  });

  it('parses a scalar result, and skips the baseline at full weight', async () => {
    const answer = await measure(
      metric('scalar(sum(demo_latency_seconds{version="{{variant}}"}))', { successCondition: { max: 2 } }),
      false,
    );
    expect(answer).toEqual({
      ok: true,
      canary: { value: 0.4 },
      query: { canary: 'scalar(sum(demo_latency_seconds{version="canary"}))' },
    });
  });

  it('gets samples from a range query for the Mann-Whitney comparison', async () => {
    const m = metric('sum(demo_latency_seconds{version="{{variant}}"})', {
      compare: { tolerance: 0.3, minSamples: 5 },
    });
    const answer = await eventually(
      'five samples on each side',
      async () => {
        const a = await measure(m);
        return a.ok && (a.canary.samples?.length ?? 0) >= 5 && (a.baseline?.samples?.length ?? 0) >= 5 ? a : undefined;
      },
      60_000,
      1000,
    );
    if (!answer.ok) throw new Error('unreachable: eventually returned a successful answer');
    expect(new Set(answer.canary.samples)).toEqual(new Set([0.4]));
    const v = judgeMeasurement(m, answer, { baseline: true });
    // Every canary sample is above every baseline sample and the means differ by a third: beyond 30 %.
    expect(v).toMatchObject({
      verdict: 'fail',
      checks: [
        { kind: 'mann-whitney', verdict: 'fail', u1: answer.canary.samples!.length * answer.baseline!.samples!.length },
      ],
    });
  });

  it.each([
    ['an empty result', 'sum(no_such_metric{version="{{variant}}"})', 'empty'],
    ['NaN', 'demo_nan', 'nan'],
    ['+Inf', 'demo_inf', 'infinite'],
    ['-Inf', 'demo_neg_inf', 'infinite'],
  ])('never passes %s: inconclusive', async (_what, query, unjudged) => {
    // min -1e9 would let +Inf pass and max 1e9 would let -Inf pass, if they were judged as numbers.
    for (const cond of [{ max: 1e9 }, { min: -1e9 }]) {
      expect(await judge(metric(query, { successCondition: cond }), false)).toMatchObject({
        verdict: 'inconclusive',
        unjudged,
      });
    }
  });

  it('answers an error for a query that gives many series or that Prometheus refuses', async () => {
    const many = await measure(metric('demo_error_ratio'), false);
    expect(many).toEqual({
      ok: false,
      error: 'query gave 2 series, not one; aggregate it (e.g. sum(...)): demo_error_ratio',
    });
    const bad = await measure(metric('sum(demo_error_ratio'), false);
    expect(bad.ok).toBe(false);
    expect((bad as { error: string }).error).toMatch(/^Prometheus refused the query \(HTTP 400, bad_data\): /);
  });

  it('a Prometheus killed while a query is under way gives inconclusive measurements, and the analysis never passes', async () => {
    const m = metric('sum(demo_error_ratio{version="{{variant}}"})', {
      successCondition: { max: 0.05 },
      count: 3,
      consecutiveErrorLimit: 1,
    });
    const pid = prometheus.pid();
    if (pid === undefined) throw new Error('Prometheus is not running');
    const verdicts: MetricVerdict[] = [judgeMeasurement(m, await measure(m, false), { baseline: false })];
    expect(verdicts[0].verdict).toBe('pass');

    // Frozen, then killed while the query is under way: whether the query had reached the
    // socket by then (reset) or not (refused), the provider answers an error, never a value.
    process.kill(pid, 'SIGSTOP');
    const inFlight = measure(m, false);
    process.kill(pid, 'SIGKILL');
    const broken: ProviderAnswer = await inFlight;
    expect(broken.ok).toBe(false);
    verdicts.push(judgeMeasurement(m, broken, { baseline: false }));
    await eventually('Prometheus to be gone', async () => (prometheus.pid() === undefined ? true : undefined), 10_000);
    const refused = await measure(m, false);
    expect(refused).toEqual({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
    verdicts.push(judgeMeasurement(m, refused, { baseline: false }));

    expect(verdicts.slice(1).map((v) => [v.verdict, v.unjudged])).toEqual([
      ['inconclusive', 'error'],
      ['inconclusive', 'error'],
    ]);
    const outcome = analysisOutcome([m], { m: verdicts });
    expect(outcome.outcome).toBe('inconclusive');
    expect(outcome.reason).toMatch(/^m: 2 provider errors in a row, more than consecutiveErrorLimit 1/);
  });
});
