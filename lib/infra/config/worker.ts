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
});

export interface WorkerConfig {
  worker: {
    metricsHost: string;
    metricsPort: number;
    shutdownGrace: string;
    maxConcurrentActivities: number;
    maxConcurrentWorkflowTasks: number;
    maxConcurrentLocalActivities: number;
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
    },
  };
}
