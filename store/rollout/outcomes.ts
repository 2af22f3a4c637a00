import type { Redis } from 'ioredis';
import type { Variant } from '../../lib/rollout/measurement';

/**
 * Request outcomes that apps report through the SDK, the built-in metrics provider's data:
 * per target, variant and time bucket, a hash of ok/error counts
 * (`rollout:metrics:<target>:<variant>:<bucket start>`) and a list of latencies in seconds
 * (`…:latency`). The API writes them, the provider reads them; nothing else touches the keys.
 */

export interface Outcome {
  ok: boolean;
  latencyMs: number;
}

export interface OutcomeStoreOptions {
  /** Width of one time bucket; a window is read as the buckets it covers. */
  bucketMs?: number;
  /** Latency samples kept per bucket and variant (the newest; a uniform window would need a reservoir). */
  maxSamplesPerBucket?: number;
  /** How long buckets live: at least the longest window a metric may read (24 h). */
  ttlMs?: number;
}

const defaults = { bucketMs: 10_000, maxSamplesPerBucket: 1000, ttlMs: 25 * 3_600_000 };

const bucketKey = (target: string, variant: Variant, bucketStart: number) =>
  `rollout:metrics:${target}:${variant}:${bucketStart}`;

/** Counts outcomes. Not idempotent (counters): each request is reported once, by the SDK. */
export async function recordOutcomes(
  redis: Redis,
  target: string,
  variant: Variant,
  outcomes: readonly (Outcome & { at?: number })[],
  opts: OutcomeStoreOptions = {},
): Promise<void> {
  const { bucketMs, maxSamplesPerBucket, ttlMs } = { ...defaults, ...opts };
  if (outcomes.length === 0) return;
  const now = Date.now();
  const multi = redis.multi();
  const touched = new Set<string>();
  for (const o of outcomes) {
    const k = bucketKey(target, variant, Math.floor((o.at ?? now) / bucketMs) * bucketMs);
    multi.hincrby(k, o.ok ? 'ok' : 'error', 1).rpush(`${k}:latency`, String(o.latencyMs / 1000));
    touched.add(k);
  }
  for (const k of touched) {
    multi.pexpire(k, ttlMs).ltrim(`${k}:latency`, -maxSamplesPerBucket, -1).pexpire(`${k}:latency`, ttlMs);
  }
  const results = await multi.exec();
  const failed = results?.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
}

export interface WindowOutcomes {
  ok: number;
  errors: number;
  /** The error rate of each bucket that had requests: the comparison's samples. */
  bucketRates: number[];
  /** Latencies in seconds, when asked for. */
  latencies: number[];
}

/** The outcomes of the buckets that end within (fromMs, toMs]. */
export async function readOutcomes(
  redis: Redis,
  target: string,
  variant: Variant,
  window: { fromMs: number; toMs: number; latency: boolean },
  opts: OutcomeStoreOptions = {},
): Promise<WindowOutcomes> {
  const { bucketMs } = { ...defaults, ...opts };
  const first = Math.floor(window.fromMs / bucketMs) + 1;
  const last = Math.floor(window.toMs / bucketMs);
  const pipeline = redis.pipeline();
  for (let b = first; b <= last; b++) {
    const k = bucketKey(target, variant, b * bucketMs);
    pipeline.hmget(k, 'ok', 'error');
    if (window.latency) pipeline.lrange(`${k}:latency`, 0, -1);
  }
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
  const stride = window.latency ? 2 : 1;
  const out: WindowOutcomes = { ok: 0, errors: 0, bucketRates: [], latencies: [] };
  for (let i = 0; i < results.length; i += stride) {
    const [o, e] = results[i][1] as (string | null)[];
    const okCount = Number(o ?? 0);
    const errCount = Number(e ?? 0);
    out.ok += okCount;
    out.errors += errCount;
    if (okCount + errCount > 0) out.bucketRates.push(errCount / (okCount + errCount));
    if (window.latency) out.latencies.push(...(results[i + 1][1] as string[]).map(Number));
  }
  return out;
}
