import { Client, type ClientConfig } from 'pg';
import { Counter, Summary, type Registry } from 'prom-client';
import type { Logger } from './logger';

/**
 * Times every statement a pool runs, by a name derived from its SQL (`select orders`,
 * `insert migration_runs`): percentiles per name on /metrics, a log line for each slow
 * one (its name and time, never its parameters), and a health class from the share of
 * slow statements over the last few minutes.
 */

export type QueryHealth = 'healthy' | 'degraded' | 'unhealthy';

export interface QueryMonitor {
  /** A pg Client class that reports to this monitor: pass it to the Pool as `Client`. */
  Client: typeof Client;
  health(): { class: QueryHealth; slowShare: number; statements: number; slowMs: number };
}

const sqlName = (text: string): string => {
  const sql = text
    .replace(/--[^\n]*\n/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
  const verb = /^(with|select|insert|update|delete|begin|commit|rollback|set|lock)\b/.exec(sql)?.[1] ?? 'other';
  if (verb === 'begin' || verb === 'commit' || verb === 'rollback' || verb === 'set') return verb;
  const table = /\b(?:from|into|update)\s+([a-z_][a-z0-9_.]*)/.exec(sql)?.[1] ?? '';
  return table ? `${verb} ${table}` : verb;
};

const windowMs = 5 * 60_000;

export function createQueryMonitor(opts: {
  registry: Registry;
  prefix: string;
  slowMs: number;
  log?: Logger;
  /** Milliseconds on a monotonic clock; a test passes its own, so that what counts as slow does not hang on the machine's load. */
  now?: () => number;
}): QueryMonitor {
  const now = opts.now ?? (() => performance.now());
  const duration = new Summary({
    name: `${opts.prefix}db_query_duration_seconds`,
    help: 'Postgres statement duration by query name (sliding 5-minute window)',
    labelNames: ['query'],
    percentiles: [0.5, 0.9, 0.95, 0.99],
    maxAgeSeconds: windowMs / 1000,
    ageBuckets: 5,
    registers: [opts.registry],
  });
  const slow = new Counter({
    name: `${opts.prefix}db_queries_slow_total`,
    help: `Postgres statements slower than ${opts.slowMs} ms, by query name`,
    labelNames: ['query'],
    registers: [opts.registry],
  });
  // Per-second buckets of [statements, slow ones] over the window, for the health class.
  const buckets = new Map<number, [number, number]>();
  const record = (name: string, ms: number) => {
    duration.observe({ query: name }, ms / 1000);
    const isSlow = ms > opts.slowMs;
    if (isSlow) {
      slow.inc({ query: name });
      opts.log?.warn({ query: name, ms: Math.round(ms) }, 'slow query');
    }
    const second = Math.floor(Date.now() / 1000);
    const b = buckets.get(second) ?? [0, 0];
    b[0]++;
    if (isSlow) b[1]++;
    buckets.set(second, b);
    if (buckets.size > windowMs / 1000) {
      const oldest = second - windowMs / 1000;
      for (const k of buckets.keys()) if (k < oldest) buckets.delete(k);
    }
  };

  class MonitoredClient extends Client {
    constructor(config?: string | ClientConfig) {
      super(config);
    }
    // pg's query has many overloads (promise, callback, submittable); time the first two, pass the rest through.
    override query(...args: unknown[]): never {
      const first = args[0] as string | { text?: string; submit?: unknown } | undefined;
      if (first && typeof first === 'object' && typeof first.submit === 'function') {
        return (super.query as (...a: unknown[]) => never)(...args);
      }
      const text = typeof first === 'string' ? first : (first?.text ?? '');
      const name = sqlName(text);
      const started = now();
      const done = () => record(name, now() - started);
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        const callback = last as (...a: unknown[]) => void;
        args[args.length - 1] = (...a: unknown[]) => {
          done();
          callback(...a);
        };
        return (super.query as (...a: unknown[]) => never)(...args);
      }
      const result = (super.query as (...a: unknown[]) => Promise<unknown>)(...args);
      void result.then(done, done);
      return result as never;
    }
  }

  return {
    Client: MonitoredClient as unknown as typeof Client,
    health() {
      const since = Math.floor((Date.now() - windowMs) / 1000);
      let statements = 0;
      let slowOnes = 0;
      for (const [second, [n, s]] of buckets) {
        if (second < since) continue;
        statements += n;
        slowOnes += s;
      }
      const slowShare = statements ? slowOnes / statements : 0;
      const cls: QueryHealth = slowShare > 0.1 ? 'unhealthy' : slowShare >= 0.05 ? 'degraded' : 'healthy';
      return { class: cls, slowShare, statements, slowMs: opts.slowMs };
    },
  };
}
