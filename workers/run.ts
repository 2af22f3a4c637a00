import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import type { ActivityDeps } from '../activities';
import { businessHistogramBuckets, startBusinessMetrics } from '../activities/metrics';
import { createVmResources } from '../activities/vm/resources';
import type { Config } from '../lib/infra/config';
import { createPool } from '../lib/infra/db';
import { createLogger, type Logger } from '../lib/infra/logger';
import { createRedis } from '../lib/infra/redis';
import { temporalConnectionOptions } from '../lib/infra/temporal';
import { temporalLogger } from '../lib/infra/temporal-logger';
import { workflowSource } from './bundle';
import { activityInterceptors } from './interceptors';

export interface WorkerSpec {
  name: string;
  taskQueue: string;
  activities: (deps: ActivityDeps) => object;
  /** Runs once the worker is connected, before it polls: schedules, setup. */
  onStart?: (ctx: { client: Client; deps: ActivityDeps; log: Logger }) => Promise<void>;
  maxConcurrentActivities?: number;
  /** How often an activity's heartbeats reach the server at most; a cancellation arrives with the next one. */
  maxHeartbeatThrottleInterval?: `${number}s` | `${number}ms`;
}

function workflowCode() {
  const source = workflowSource();
  return 'workflowBundle' in source
    ? { workflowBundle: source.workflowBundle }
    : { workflowsPath: source.workflowsPath };
}

function workflowModules(): string[] | undefined {
  const source = workflowSource();
  return 'workflowModules' in source ? source.workflowModules : undefined;
}

/** Installs the Runtime once per process: its logs go to pino, its metrics to Prometheus. */
export function installRuntime(config: Config, log: Logger): void {
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
      metrics: {
        prometheus: {
          bindAddress: `${config.worker.metricsHost}:${config.worker.metricsPort}`,
          histogramBucketOverrides: businessHistogramBuckets,
        },
      },
    },
  });
  startBusinessMetrics();
}

/** Runs a worker until SIGTERM/SIGINT, then lets running activities finish within the grace time. */
export async function runWorker(config: Config, spec: WorkerSpec): Promise<void> {
  const log = createLogger(config, `worker-${spec.name}`);
  installRuntime(config, log);
  const pool = createPool(config, log, `worker-${spec.name}`);
  const redis = createRedis(config, log);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  // A client on the worker's connection: workflows its activities start may be handed
  // straight to this worker (eager start).
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const stopping = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stopping.abort());
  // The libvirt pool's statistics go out on the Runtime's /metrics with Temporal's own.
  const vm = createVmResources(config.libvirt, Runtime.instance().metricMeter);
  const deps: ActivityDeps = { config, pool, redis, log, client, stopping: stopping.signal, vm };
  try {
    await spec.onStart?.({ client, deps, log });
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: spec.taskQueue,
      ...workflowCode(),
      activities: spec.activities(deps),
      interceptors: { activity: [activityInterceptors], workflowModules: workflowModules() },
      shutdownGraceTime: config.worker.shutdownGrace as `${number}s`,
      maxConcurrentActivityTaskExecutions: spec.maxConcurrentActivities ?? config.worker.maxConcurrentActivities,
      maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
      maxConcurrentLocalActivityExecutions: config.worker.maxConcurrentLocalActivities,
      ...(spec.maxHeartbeatThrottleInterval ? { maxHeartbeatThrottleInterval: spec.maxHeartbeatThrottleInterval } : {}),
    });
    log.info(
      {
        taskQueue: spec.taskQueue,
        namespace: config.temporal.namespace,
        metrics: `${config.worker.metricsHost}:${config.worker.metricsPort}`,
      },
      'worker polling',
    );
    await worker.run();
    log.info('worker stopped');
  } finally {
    await Promise.allSettled([connection.close(), pool.end(), redis.quit(), vm.close()]);
  }
}
