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
  /** Every answer's latency and class, so rounds can be pooled (`pooled`). */
  samples: Sample[];
  /** Connection errors and timeouts: no answer, so no latency. */
  unanswered: number;
}

type Class = 'ok' | 'shed' | 'failed';
export interface Sample {
  ms: number;
  cls: Class;
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

/** The share of requests that were not answered below 500: shed, failed or never answered. */
export const errorRate = (f: Figures): number => (f.shed + f.failed) / (f.total || 1);

/** Figures from answers and a rate, with exact percentiles of the answers' latencies. */
function figuresOf(name: string, rps: number, samples: Sample[], unanswered: number): Figures {
  const all = samples.map((l) => l.ms).sort((a, b) => a - b);
  const of = (cls: Class) =>
    samples
      .filter((l) => l.cls === cls)
      .map((l) => l.ms)
      .sort((a, b) => a - b);
  const ok = of('ok');
  const shed = of('shed');
  return {
    name,
    rps,
    p50: percentile(all, 50),
    p95: percentile(all, 95),
    p99: percentile(all, 99),
    max: Math.round(all.at(-1) ?? 0),
    total: samples.length + unanswered,
    ok: ok.length,
    shed: shed.length,
    // Connection errors and timeouts get no response, so they are counted apart from the answered failures.
    failed: samples.length - ok.length - shed.length + unanswered,
    okP99: percentile(ok, 99),
    shedP99: percentile(shed, 99),
    shedMax: Math.round(shed.at(-1) ?? 0),
    samples,
    unanswered,
  };
}

/** Several rounds of one arm as one: percentiles over every answer, the rate the median round's. */
export function pooled(name: string, rounds: readonly Figures[]): Figures {
  const rates = rounds.map((f) => f.rps).sort((a, b) => a - b);
  const mid = rates.length >> 1;
  const rps = rates.length % 2 ? rates[mid]! : (rates[mid - 1]! + rates[mid]!) / 2;
  return figuresOf(
    name,
    rps,
    rounds.flatMap((f) => f.samples),
    rounds.reduce((n, f) => n + f.unanswered, 0),
  );
}

export async function measure(name: string, url: string, next: () => Request, opts: LoadOptions): Promise<Figures> {
  const latencies: Sample[] = [];
  // autocannon calls onResponse and then emits 'response' for the same answer in one tick,
  // so the class onResponse read from the headers is the one the latency belongs to.
  let lastClass: Class = 'ok';
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
  return figuresOf(name, result.requests.average, latencies, result.errors);
}
