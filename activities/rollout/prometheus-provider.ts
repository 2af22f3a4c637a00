import { errorMessage } from '../../lib/errors';
import { durationMs } from '../../lib/rollout/duration';
import type { ProviderAnswer, Reading, Variant } from '../../lib/rollout/measurement';
import type { MetricSpec } from '../../lib/rollout/metric-spec';
import { causeOf, isTimeout } from './fetch-errors';
import type { MeasureContext, MetricsProvider } from './types';

export interface PrometheusOptions {
  /** e.g. http://127.0.0.1:9090 */
  baseUrl: string;
  timeoutMs?: number;
  /** Samples per window for the statistical comparison (a range query's points). */
  samplesPerWindow?: number;
}

/**
 * Metrics from Prometheus over its HTTP API: an instant query per variant for the value,
 * and a range query over the window for the comparison's samples. A query must give one
 * number (a scalar, or a vector of one series); an empty vector is an empty reading and
 * `NaN`/`±Inf` stay what they are, for the judge to call inconclusive. An unreachable,
 * slow or refusing Prometheus is an answer with `ok: false`, never an exception.
 */
export function createPrometheusProvider(opts: PrometheusOptions): MetricsProvider {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const points = opts.samplesPerWindow ?? 30;

  const api = async (path: string, params: Record<string, string>): Promise<PromData> => {
    const url = `${base}${path}?${new URLSearchParams(params)}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    } catch (err) {
      const timedOut = isTimeout(err);
      throw new ProviderFailure(
        timedOut
          ? `Prometheus at ${base} did not answer within ${timeoutMs} ms`
          : `Prometheus at ${base}: ${causeOf(err)}`,
      );
    }
    const text = await res.text().catch((err: unknown) => {
      throw new ProviderFailure(`Prometheus at ${base}: the answer broke off (${causeOf(err)})`);
    });
    let body: PromResponse;
    try {
      body = JSON.parse(text) as PromResponse;
    } catch {
      throw new ProviderFailure(`Prometheus at ${base}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (body.status !== 'success' || !body.data) {
      throw new ProviderFailure(
        `Prometheus refused the query (HTTP ${res.status}, ${body.errorType ?? 'error'}): ${body.error ?? text.slice(0, 200)}`,
      );
    }
    return body.data;
  };

  return {
    async measure(metric: MetricSpec, ctx: MeasureContext): Promise<ProviderAnswer> {
      if (metric.provider.type !== 'prometheus')
        return { ok: false, error: `metric ${metric.name} is not a Prometheus metric` };
      const { query, variantLabels } = metric.provider;
      const windowMs = durationMs(metric.window);
      const render = (variant: Variant) =>
        query
          .replaceAll('{{variant}}', variantLabels[variant])
          .replaceAll('{{target}}', ctx.target)
          .replaceAll('{{window}}', metric.window);
      const time = String(ctx.at / 1000);
      const read = async (variant: Variant, withSamples: boolean): Promise<Reading> => {
        const q = render(variant);
        const value = oneValue(await api('/api/v1/query', { query: q, time }), q);
        if (!withSamples) return { value };
        const stepS = Math.max(1, Math.floor(windowMs / 1000 / points));
        const range = await api('/api/v1/query_range', {
          query: q,
          start: String((ctx.at - windowMs) / 1000),
          end: time,
          step: `${stepS}s`,
        });
        return { value, samples: rangeSamples(range, q) };
      };
      const compares = ctx.baseline && query.includes('{{variant}}');
      const samples = compares && metric.compare !== undefined;
      try {
        const [canary, baseline] = await Promise.all([
          read('canary', samples),
          compares ? read('baseline', samples) : undefined,
        ]);
        return {
          ok: true,
          canary,
          ...(baseline ? { baseline } : {}),
          query: { canary: render('canary'), ...(compares ? { baseline: render('baseline') } : {}) },
        };
      } catch (err) {
        if (err instanceof ProviderFailure) return { ok: false, error: err.message };
        return { ok: false, error: errorMessage(err) };
      }
    },
  };
}

class ProviderFailure extends Error {}

interface PromResponse {
  status: 'success' | 'error';
  data?: PromData;
  errorType?: string;
  error?: string;
}
type Sample = [number, string];
type PromData =
  | { resultType: 'scalar'; result: Sample }
  | { resultType: 'vector'; result: { metric: Record<string, string>; value: Sample }[] }
  | { resultType: 'matrix'; result: { metric: Record<string, string>; values: Sample[] }[] }
  | { resultType: 'string'; result: Sample };

/** Prometheus writes special floats as strings; Number('+Inf') would be NaN. */
export function promFloat(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** One number from an instant query; null for an empty vector. */
export function oneValue(data: PromData, query: string): number | null {
  switch (data.resultType) {
    case 'scalar':
      return promFloat(data.result[1]);
    case 'vector':
      if (data.result.length === 0) return null;
      if (data.result.length > 1) {
        throw new ProviderFailure(
          `query gave ${data.result.length} series, not one; aggregate it (e.g. sum(...)): ${query}`,
        );
      }
      return promFloat(data.result[0].value[1]);
    default:
      throw new ProviderFailure(`query gave a ${data.resultType}, not a number: ${query}`);
  }
}

export function rangeSamples(data: PromData, query: string): number[] {
  if (data.resultType !== 'matrix') throw new ProviderFailure(`range query gave a ${data.resultType}: ${query}`);
  if (data.result.length > 1)
    throw new ProviderFailure(
      `query gave ${data.result.length} series, not one; aggregate it (e.g. sum(...)): ${query}`,
    );
  return (data.result[0]?.values ?? []).map(([, v]) => promFloat(v));
}
