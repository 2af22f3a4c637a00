import { z } from 'zod';
import { duration, durationMs, every, invalid, optional, optionalUrl, port } from './shared';

/** The hmm worker and the engine it fits with. */
export const hmmEnv = z.object({
  // local: fit in the hmm worker; remote: POST ${HMM_SERVICE_URL}/analyze (the origin's service API).
  HMM_ENGINE: z.enum(['local', 'remote']).default('local'),
  HMM_TASK_QUEUE: z.string().min(1).default('hmm'),
  HMM_SERVICE_URL: optionalUrl,
  HMM_SERVICE_TOKEN: optional,
  // A fit of a few thousand bars takes seconds; longer than this is a hung service, retried.
  HMM_SERVICE_TIMEOUT: duration.default('60s'),
  HMM_WORKER_METRICS_PORT: port.default(9465),
  // Fits run one EM round at a time between other tasks: more than a few only share the core.
  HMM_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(100).default(4),
  HMM_CACHE_TTL: duration.default('10m'),
  HMM_REFIT_EVERY: every.default('24h'),
  HMM_REFIT_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(2),
});

export interface HmmConfig {
  hmm: {
    engine: 'local' | 'remote';
    taskQueue: string;
    serviceUrl?: string;
    serviceToken?: string;
    serviceTimeoutMs: number;
    workerMetricsPort: number;
    maxConcurrentActivities: number;
    cacheTtlSeconds: number;
    refitEvery: string;
    refitConcurrency: number;
  };
}

export function hmmConfig(e: z.infer<typeof hmmEnv>): HmmConfig {
  if (e.HMM_ENGINE === 'remote' && !e.HMM_SERVICE_URL) {
    throw invalid('HMM_SERVICE_URL', 'a URL when HMM_ENGINE=remote', 'nothing');
  }
  return {
    hmm: {
      engine: e.HMM_ENGINE,
      taskQueue: e.HMM_TASK_QUEUE,
      serviceUrl: e.HMM_SERVICE_URL?.replace(/\/$/, ''),
      serviceToken: e.HMM_SERVICE_TOKEN,
      serviceTimeoutMs: durationMs(e.HMM_SERVICE_TIMEOUT),
      workerMetricsPort: e.HMM_WORKER_METRICS_PORT,
      maxConcurrentActivities: e.HMM_MAX_CONCURRENT_ACTIVITIES,
      cacheTtlSeconds: Math.max(1, Math.round(durationMs(e.HMM_CACHE_TTL) / 1000)),
      refitEvery: e.HMM_REFIT_EVERY,
      refitConcurrency: e.HMM_REFIT_CONCURRENCY,
    },
  };
}
