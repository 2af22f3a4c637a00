import type { Redis } from 'ioredis';
import { errorMessage } from '../../lib/errors';
import { durationMs } from '../../lib/rollout/duration';
import type { ProviderAnswer, Reading, Variant } from '../../lib/rollout/measurement';
import type { MetricSpec } from '../../lib/rollout/metric-spec';
import { quantile } from '../../lib/rollout/stats';
import { readOutcomes, recordOutcomes, type Outcome, type OutcomeStoreOptions } from '../../store/rollout/outcomes';
import type { MeasureContext, MetricsProvider } from './types';

export type BuiltinMetricsOptions = OutcomeStoreOptions;
export type { Outcome };

export interface BuiltinMetrics extends MetricsProvider {
  /** Counts one request's outcome. Not idempotent (a counter): the SDK reports each request once. */
  record(target: string, variant: Variant, outcome: Outcome, at?: number): Promise<void>;
}

/**
 * The built-in metrics provider: request outcomes reported by apps through the SDK
 * (store/rollout/outcomes.ts keeps them in Redis per target, variant and time bucket). A
 * measurement reads the buckets of its window: the error rate is errors ÷ requests (no
 * requests: an empty reading, not a rate of 0), the latency a quantile of the samples;
 * samples for the comparison are per-bucket error rates or the latencies themselves.
 */
export function createBuiltinMetrics(redis: Redis, opts: BuiltinMetricsOptions = {}): BuiltinMetrics {
  const readVariant = async (metric: MetricSpec, target: string, variant: Variant, at: number): Promise<Reading> => {
    const provider = metric.provider.type === 'builtin' ? metric.provider : undefined;
    const latency = provider?.measure === 'latency';
    const w = await readOutcomes(
      redis,
      target,
      variant,
      { fromMs: at - durationMs(metric.window), toMs: at, latency },
      opts,
    );
    if (latency) {
      return { value: w.latencies.length ? quantile(w.latencies, provider.quantile) : null, samples: w.latencies };
    }
    return { value: w.ok + w.errors > 0 ? w.errors / (w.ok + w.errors) : null, samples: w.bucketRates };
  };

  return {
    record: (target, variant, outcome, at = Date.now()) =>
      recordOutcomes(redis, target, variant, [{ ...outcome, at }], opts),
    async measure(metric, ctx: MeasureContext): Promise<ProviderAnswer> {
      if (metric.provider.type !== 'builtin')
        return { ok: false, error: `metric ${metric.name} is not a built-in metric` };
      try {
        const [canary, baseline] = await Promise.all([
          readVariant(metric, ctx.target, 'canary', ctx.at),
          ctx.baseline ? readVariant(metric, ctx.target, 'baseline', ctx.at) : undefined,
        ]);
        return { ok: true, canary, ...(baseline ? { baseline } : {}) };
      } catch (err) {
        return { ok: false, error: `built-in metrics in Redis: ${errorMessage(err)}` };
      }
    },
  };
}
