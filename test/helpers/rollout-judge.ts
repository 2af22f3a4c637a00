import type { ProviderAnswer } from '../../lib/rollout/measurement';
import { metricSpec, type MetricSpec } from '../../lib/rollout/metric-spec';

/** A latency metric from the built-in provider, with the fields a test gives. */
export const metric = (m: Partial<Record<keyof MetricSpec, unknown>>): MetricSpec =>
  metricSpec.parse({ name: 'latency', provider: { type: 'builtin', measure: 'latency' }, ...m });

/** A provider's answer: the canary's value, the baseline's when given, and samples for the comparison. */
export const answer = (
  canary: number | null,
  baseline?: number | null,
  samples?: { canary: number[]; baseline: number[] },
): ProviderAnswer => ({
  ok: true,
  canary: { value: canary, samples: samples?.canary },
  ...(baseline !== undefined ? { baseline: { value: baseline, samples: samples?.baseline } } : {}),
});

/** The judge's context below weight 100: a baseline takes traffic. */
export const withBaseline = { baseline: true };
