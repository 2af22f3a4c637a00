import type { Redis } from 'ioredis';
import { errorMessage } from '../../lib/errors';
import { durationMs } from '../../lib/rollout/duration';
import type { ProviderAnswer, Reading, Variant } from '../../lib/rollout/measurement';
import type { MetricSpec } from '../../lib/rollout/spec';
import { quantile } from '../../lib/rollout/stats';
import type { MeasureContext, MetricsProvider } from './types';

export interface BuiltinMetricsOptions {
  /** Width of one time bucket; a window is read as the buckets it covers. */
  bucketMs?: number;
  /** Latency samples kept per bucket and variant (a uniform window would need a reservoir; the newest suffice here). */
  maxSamplesPerBucket?: number;
  /** How long buckets live: at least the longest window a metric may read (24 h). */
  ttlMs?: number;
}

export interface Outcome {
  ok: boolean;
  latencyMs: number;
}

export interface BuiltinMetrics extends MetricsProvider {
  /** Counts one request's outcome. Not idempotent (a counter): the SDK reports each request once. */
  record(target: string, variant: Variant, outcome: Outcome, at?: number): Promise<void>;
}

/**
 * Request outcomes reported by apps through the SDK, kept in Redis per target, variant
 * and time bucket: a hash of ok/error counts and a list of latencies in seconds. A
 * measurement reads the buckets of its window: the error rate is errors ÷ requests (no
 * requests: an empty reading, not a rate of 0), the latency a quantile of the samples;
 * samples for the comparison are per-bucket error rates or the latencies themselves.
 */
export function createBuiltinMetrics(redis: Redis, opts: BuiltinMetricsOptions = {}): BuiltinMetrics {
  const bucketMs = opts.bucketMs ?? 10_000;
  const maxSamples = opts.maxSamplesPerBucket ?? 1000;
  const ttlMs = opts.ttlMs ?? 25 * 3_600_000;
  const key = (target: string, variant: Variant, bucket: number) => `rollout:metrics:${target}:${variant}:${bucket}`;

  const readVariant = async (metric: MetricSpec, target: string, variant: Variant, at: number): Promise<Reading> => {
    const provider = metric.provider.type === 'builtin' ? metric.provider : undefined;
    const first = Math.floor((at - durationMs(metric.window)) / bucketMs) + 1;
    const last = Math.floor(at / bucketMs);
    const pipeline = redis.pipeline();
    for (let b = first; b <= last; b++) {
      const k = key(target, variant, b * bucketMs);
      pipeline.hmget(k, 'ok', 'error');
      if (provider?.measure === 'latency') pipeline.lrange(`${k}:latency`, 0, -1);
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
    const latency = provider?.measure === 'latency';
    const stride = latency ? 2 : 1;
    let ok = 0;
    let errors = 0;
    const bucketRates: number[] = [];
    const latencies: number[] = [];
    for (let i = 0; i < results.length; i += stride) {
      const [o, e] = results[i][1] as (string | null)[];
      const okCount = Number(o ?? 0);
      const errCount = Number(e ?? 0);
      ok += okCount;
      errors += errCount;
      if (okCount + errCount > 0) bucketRates.push(errCount / (okCount + errCount));
      if (latency) latencies.push(...(results[i + 1][1] as string[]).map(Number));
    }
    if (latency) {
      return { value: latencies.length ? quantile(latencies, provider.quantile) : null, samples: latencies };
    }
    return { value: ok + errors > 0 ? errors / (ok + errors) : null, samples: bucketRates };
  };

  return {
    async record(target, variant, outcome, at = Date.now()) {
      const bucket = Math.floor(at / bucketMs) * bucketMs;
      const k = key(target, variant, bucket);
      await redis
        .multi()
        .hincrby(k, outcome.ok ? 'ok' : 'error', 1)
        .pexpire(k, ttlMs)
        .rpush(`${k}:latency`, String(outcome.latencyMs / 1000))
        .ltrim(`${k}:latency`, -maxSamples, -1)
        .pexpire(`${k}:latency`, ttlMs)
        .exec();
    },
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
