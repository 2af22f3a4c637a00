import { z } from 'zod';
import { duration, durationMs, optional, port } from './shared';

/** The API process. */
export const apiEnv = z.object({
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3000),
  API_TOKEN: optional,
  // Every request's calls to Temporal and Postgres share this bound: a dependency that is down is a 503 within it.
  API_DEADLINE: duration.default('2s'),
  // Requests worked on at once; more wait in a queue of API_MAX_QUEUED for at most a quarter of the
  // deadline, and past that get 503 with Retry-After at once (README, "Outages are quick 503s").
  API_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(16),
  API_MAX_QUEUED: z.coerce.number().int().min(0).max(100_000).default(16),
  // A statement slower than this is logged and counted; their share over 5 minutes is /readyz's query health.
  API_SLOW_QUERY: duration.default('100ms'),
  // open: a key's requests go through unlimited while Redis is down; closed: they get 503.
  API_RATE_LIMIT_ON_REDIS_DOWN: z.enum(['open', 'closed']).default('open'),
  // Signs the verified-key entries cached in Redis, so Redis cannot vouch for a key Postgres does not hold.
  // Unset: no cache, every request is checked against Postgres (the local stack generates one).
  API_KEY_CACHE_SECRET: z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .pipe(z.string().min(32, 'at least 32 characters of random').optional()),
  // Failed authentications a minute, counted before any hashing; past them the answer is 429.
  API_AUTH_FAILURES_PER_KEY: z.coerce.number().int().min(1).default(10),
  API_AUTH_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(30),
});

export interface ApiConfig {
  api: {
    host: string;
    port: number;
    token?: string;
    deadlineMs: number;
    /** Requests worked on at once, and how many may wait for a slot (api/admission.ts). */
    admission: { maxInFlight: number; maxQueued: number };
    slowQueryMs: number;
    rateLimitOnRedisDown: 'open' | 'closed';
    keyCacheSecret?: string;
    /** Failed authentications a minute allowed per key prefix and per client address. */
    authFailures: { perKey: number; perAddress: number };
  };
}

export function apiConfig(e: z.infer<typeof apiEnv>): ApiConfig {
  return {
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      token: e.API_TOKEN,
      deadlineMs: durationMs(e.API_DEADLINE),
      admission: { maxInFlight: e.API_MAX_IN_FLIGHT, maxQueued: e.API_MAX_QUEUED },
      slowQueryMs: durationMs(e.API_SLOW_QUERY),
      rateLimitOnRedisDown: e.API_RATE_LIMIT_ON_REDIS_DOWN,
      keyCacheSecret: e.API_KEY_CACHE_SECRET,
      authFailures: { perKey: e.API_AUTH_FAILURES_PER_KEY, perAddress: e.API_AUTH_FAILURES_PER_ADDRESS },
    },
  };
}
