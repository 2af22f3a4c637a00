import { z } from 'zod';
import { duration, durationMs, every, optional } from './shared';

/** The CBB sync: the partner's API and the sweep. */
export const cbbEnv = z.object({
  CBB_BASE_URL: z.string().url().default('http://127.0.0.1:3100/api'),
  // The local CBB server accepts this key; a real CBB account's token comes from the environment only.
  CBB_API_KEY: z.string().min(1).default('local-dev-cbb-key'),
  // The local CBB server's `/_admin` routes (request log, contacts, reset) answer only to this token;
  // the local stack generates one into its data folder when it is not set.
  CBB_ADMIN_TOKEN: optional,
  CBB_TIMEOUT: duration.default('10s'),
  CBB_SWEEP_CONCURRENCY: z.coerce.number().int().min(1).max(5000).default(200),
  // WhatsApp sends in flight per worker: a worker that dies leaves at most this many unconfirmed.
  CBB_MAX_CONCURRENT_SENDS: z.coerce.number().int().min(1).max(1000).default(10),
  // `off`: this worker leaves the sweep's Schedule alone (another deployment owns it).
  CBB_SWEEP_EVERY: every.default('1m'),
});

export interface CbbConfig {
  cbb: {
    baseUrl: string;
    apiKey: string;
    /** The local CBB server's admin token: the server requires it, tests and benchmarks send it. */
    adminToken?: string;
    timeoutMs: number;
    sweepConcurrency: number;
    sweepEvery: string;
    maxConcurrentSends: number;
  };
}

export function cbbConfig(e: z.infer<typeof cbbEnv>): CbbConfig {
  return {
    cbb: {
      baseUrl: e.CBB_BASE_URL.replace(/\/$/, ''),
      apiKey: e.CBB_API_KEY,
      adminToken: e.CBB_ADMIN_TOKEN,
      timeoutMs: durationMs(e.CBB_TIMEOUT),
      sweepConcurrency: e.CBB_SWEEP_CONCURRENCY,
      maxConcurrentSends: e.CBB_MAX_CONCURRENT_SENDS,
      sweepEvery: e.CBB_SWEEP_EVERY,
    },
  };
}
