import { z } from 'zod';
import { duration, port } from './shared';

/** The main worker's slots, metrics endpoint and shutdown. */
export const workerEnv = z.object({
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_METRICS_PORT: port.default(9464),
  WORKER_SHUTDOWN_GRACE: duration.default('30s'),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(10000).default(200),
  // A workflow task stays open while its local activities run: this bounds the CBB syncs in progress.
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(1).max(10000).default(250),
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: z.coerce.number().int().min(1).max(10000).default(250),
  // Runs kept in memory between their workflow tasks. The SDK's default follows the heap limit
  // (about 2,000 on a 4 GB heap, fewer than the syncs in flight on a small one, which would then
  // be replayed from their histories); a sync leaves the cache when it completes.
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100000).default(500),
});

export interface WorkerConfig {
  worker: {
    metricsHost: string;
    metricsPort: number;
    shutdownGrace: string;
    maxConcurrentActivities: number;
    maxConcurrentWorkflowTasks: number;
    maxConcurrentLocalActivities: number;
    maxCachedWorkflows: number;
  };
}

export function workerConfig(e: z.infer<typeof workerEnv>): WorkerConfig {
  return {
    worker: {
      metricsHost: e.WORKER_METRICS_HOST,
      metricsPort: e.WORKER_METRICS_PORT,
      shutdownGrace: e.WORKER_SHUTDOWN_GRACE,
      maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTasks: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxConcurrentLocalActivities: e.WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES,
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    },
  };
}
