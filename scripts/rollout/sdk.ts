/**
 * The rollout SDK that apps import: asks the orchestrator's API which variant a subject
 * gets from a feature flag (sticky: a user keeps the canary as the weight grows), and
 * reports each request's outcome (ok/error, latency) for the built-in metrics provider,
 * batched. A flag that cannot be evaluated (the API down, no such flag) gives the
 * baseline: an outage of the orchestrator never sends users to a canary.
 *
 *   const rollout = createRolloutClient({ baseUrl: 'http://127.0.0.1:3000', token });
 *   const { variant } = await rollout.evaluate('checkout', { id: userId, groups: ['beta_users'] });
 *   const result = await rollout.track('checkout', variant, () => handle(req));
 *   await rollout.close(); // sends what is still buffered
 */

export type Variant = 'canary' | 'baseline';

export interface Evaluation {
  variant: Variant;
  /** kill-switch, off, group, percentage; `unavailable` when the API could not answer. */
  reason: string;
  bucket?: number;
  error?: string;
}

export interface RolloutClientOptions {
  baseUrl: string;
  /** The API's bearer token (API_TOKEN), when it has one. */
  token?: string;
  /** Each call's timeout; an evaluation that takes longer gives the baseline. */
  timeoutMs?: number;
  /** Outcomes are sent at most this long after they happened… */
  flushEveryMs?: number;
  /** …or as soon as this many are buffered. */
  maxBatch?: number;
  /** Outcomes kept while the API is unreachable; the oldest are dropped beyond it. */
  maxBuffered?: number;
  onError?: (err: Error) => void;
}

interface Pending {
  variant: Variant;
  ok: boolean;
  latencyMs: number;
  at: number;
}

export function createRolloutClient(opts: RolloutClientOptions) {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxBatch = opts.maxBatch ?? 500;
  const maxBuffered = opts.maxBuffered ?? 50_000;
  const headers = {
    'content-type': 'application/json',
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
  };
  const buffers = new Map<string, { target?: string; items: Pending[] }>();
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();

  const post = async (path: string, body: unknown): Promise<Response> =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });

  async function evaluate(flag: string, subject: { id: string; groups?: string[] }): Promise<Evaluation> {
    try {
      const res = await post(`/api/v1/flags/${encodeURIComponent(flag)}/evaluate`, { subject });
      const body = (await res.json()) as Evaluation & { detail?: string };
      if (!res.ok) return { variant: 'baseline', reason: 'unavailable', error: body.detail ?? `HTTP ${res.status}` };
      return { variant: body.variant, reason: body.reason, bucket: body.bucket };
    } catch (err) {
      return { variant: 'baseline', reason: 'unavailable', error: (err as Error).message };
    }
  }

  /** Buffers one outcome; the flag's key is the rollout target unless `target` says otherwise. */
  function report(flag: string, variant: Variant, outcome: { ok: boolean; latencyMs: number }, target?: string): void {
    const key = `${flag}\u0000${target ?? ''}`;
    const buffer = buffers.get(key) ?? { target, items: [] };
    buffers.set(key, buffer);
    buffer.items.push({ variant, ok: outcome.ok, latencyMs: outcome.latencyMs, at: Date.now() });
    if (buffer.items.length > maxBuffered) buffer.items.splice(0, buffer.items.length - maxBuffered);
    if (buffer.items.length >= maxBatch) void flush();
    else timer ??= setTimeout(() => void flush(), opts.flushEveryMs ?? 1000);
  }

  /** Runs `work`, reporting it as ok when it resolves and as an error when it throws (and rethrows). */
  async function track<T>(flag: string, variant: Variant, work: () => Promise<T>, target?: string): Promise<T> {
    const started = performance.now();
    try {
      const result = await work();
      report(flag, variant, { ok: true, latencyMs: performance.now() - started }, target);
      return result;
    } catch (err) {
      report(flag, variant, { ok: false, latencyMs: performance.now() - started }, target);
      throw err;
    }
  }

  /** Sends every buffered outcome; a batch the API refuses or cannot take goes back to the buffer. */
  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    sending = sending.then(async () => {
      for (const [key, buffer] of buffers) {
        while (buffer.items.length > 0) {
          const batch = buffer.items.splice(0, maxBatch);
          const flag = key.split('\u0000')[0];
          try {
            const res = await post(`/api/v1/flags/${encodeURIComponent(flag)}/outcomes`, {
              ...(buffer.target ? { target: buffer.target } : {}),
              outcomes: batch,
            });
            await res.text();
            if (res.status >= 500) throw new Error(`HTTP ${res.status}`);
            if (!res.ok) {
              opts.onError?.(new Error(`the API refused ${batch.length} outcomes of ${flag}: HTTP ${res.status}`));
            }
          } catch (err) {
            buffer.items.unshift(...batch);
            opts.onError?.(err as Error);
            timer ??= setTimeout(() => void flush(), opts.flushEveryMs ?? 1000);
            return;
          }
        }
      }
    });
    return sending;
  }

  return {
    evaluate,
    report,
    track,
    flush,
    async close(): Promise<void> {
      await flush();
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

export type RolloutClient = ReturnType<typeof createRolloutClient>;
