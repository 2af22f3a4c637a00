import autocannon from 'autocannon';

export type Request = { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string };

/**
 * What a client sees of one endpoint under load. Answers fall in three classes: `ok`
 * (below 500), `shed` (503 with Retry-After, the API's way of saying "later"), and
 * `failed` (any other 5xx, a connection error or a timeout, which the API never means).
 */
export interface Figures {
  name: string;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  total: number;
  ok: number;
  shed: number;
  failed: number;
  /** Percentiles of each class on its own: a shed that comes late is as bad as a slow success. */
  okP99: number;
  shedP99: number;
  shedMax: number;
}

export interface LoadOptions {
  seconds: number;
  connections: number;
  /** Requests per second across all connections; absent: flat out. */
  rate?: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
}

export async function measure(name: string, url: string, next: () => Request, opts: LoadOptions): Promise<Figures> {
  const latencies: { ms: number; cls: 'ok' | 'shed' | 'failed' }[] = [];
  // autocannon calls onResponse and then emits 'response' for the same answer in one tick,
  // so the class onResponse read from the headers is the one the latency belongs to.
  let lastClass: 'ok' | 'shed' | 'failed' = 'ok';
  let instance!: autocannon.Instance;
  // The callback form returns the instance, whose 'response' event carries each answer's latency.
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url,
        duration: opts.seconds,
        connections: opts.connections,
        // autocannon's overallRate is requests per second across all connections.
        overallRate: opts.rate,
        requests: [
          {
            setupRequest: (req) => ({ ...req, ...next() }),
            onResponse: (status, _body, _context, headers) => {
              const retryAfter = Object.keys(headers ?? {}).some((h) => h.toLowerCase() === 'retry-after');
              lastClass = status < 500 ? 'ok' : status === 503 && retryAfter ? 'shed' : 'failed';
            },
          },
        ],
      },
      (err, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result)),
    );
  });
  instance.on('response', (_client, _status, _bytes, ms) => latencies.push({ ms, cls: lastClass }));
  const result = await done;
  const lat = result.latency as unknown as Record<string, number>;
  const of = (cls: string) =>
    latencies
      .filter((l) => l.cls === cls)
      .map((l) => l.ms)
      .sort((a, b) => a - b);
  const ok = of('ok');
  const shed = of('shed');
  return {
    name,
    rps: result.requests.average,
    p50: lat.p50,
    // autocannon's latency object reports p97_5 and p99; p95 sits between p90 and p97.5.
    p95: lat.p97_5 !== undefined && lat.p90 !== undefined ? (lat.p90 + lat.p97_5) / 2 : lat.p99,
    p99: lat.p99,
    max: lat.max,
    total: latencies.length + result.errors,
    ok: ok.length,
    shed: shed.length,
    // Connection errors and timeouts get no response, so they are counted apart from the answered failures.
    failed: latencies.length - ok.length - shed.length + result.errors,
    okP99: percentile(ok, 99),
    shedP99: percentile(shed, 99),
    shedMax: Math.round(shed.at(-1) ?? 0),
  };
}
