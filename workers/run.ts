import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { businessHistogramBuckets, startBusinessMetrics } from '../activities/metrics';
import { createVmResources } from '../activities/vm/resources';
import type { Config } from '../lib/infra/config';
import { createPool } from '../lib/infra/db';
import { createLogger, type Logger } from '../lib/infra/logger';
import { createRedis } from '../lib/infra/redis';
import { temporalConnectionOptions } from '../lib/infra/temporal';
import { applySchedules } from '../lib/infra/schedules';
import { temporalLogger } from '../lib/infra/temporal-logger';
import { workflowSource, type WorkerRole } from './bundle';
import { activityInterceptors } from './interceptors';
import { hostedActivities, hostedSchedules, needsOf, type ProcessName, type WorkerDeps } from './processes';

export interface WorkerSpec {
  role: WorkerRole;
  taskQueue: string;
  /** The processes it hosts: their workflows, activities and Schedules, and only the connections they need. */
  processes: readonly ProcessName[];
  metricsPort: number;
  maxConcurrentActivities?: number;
  /** How often an activity's heartbeats reach the server at most; a cancellation arrives with the next one. */
  maxHeartbeatThrottleInterval?: `${number}s` | `${number}ms`;
}

function workflowCode(role: WorkerRole) {
  const source = workflowSource(role);
  return 'workflowBundle' in source
    ? { workflowBundle: source.workflowBundle, modules: undefined }
    : { workflowsPath: source.workflowsPath, modules: source.workflowModules };
}

/** Installs the Runtime once per process: its logs go to pino, its metrics to Prometheus. */
export function installRuntime(config: Config, log: Logger, metricsPort = config.worker.metricsPort): void {
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
      metrics: {
        prometheus: {
          bindAddress: `${config.worker.metricsHost}:${metricsPort}`,
          histogramBucketOverrides: businessHistogramBuckets,
        },
      },
    },
  });
  startBusinessMetrics();
}

/** Runs a worker until SIGTERM/SIGINT, then lets running activities finish within the grace time. */
export async function runWorker(config: Config, spec: WorkerSpec): Promise<void> {
  const log = createLogger(config, `worker-${spec.role}`);
  installRuntime(config, log, spec.metricsPort);
  const needs = needsOf(spec.processes);
  const pool = createPool(config, log, `worker-${spec.role}`);
  const redis = needs.has('redis') ? createRedis(config, log) : undefined;
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  // A client on the worker's connection: workflows its activities start may be handed
  // straight to this worker (eager start).
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const stopping = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stopping.abort());
  // The libvirt pool's statistics go out on the Runtime's /metrics with Temporal's own.
  const vm = needs.has('libvirt') ? createVmResources(config.libvirt, Runtime.instance().metricMeter) : undefined;
  const deps: WorkerDeps = { config, pool, redis, log, client, stopping: stopping.signal, vm };
  try {
    await applySchedules(client, hostedSchedules(spec.processes, config), log);
    const { modules, ...code } = workflowCode(spec.role);
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: spec.taskQueue,
      ...code,
      activities: hostedActivities(spec.processes, deps),
      interceptors: { activity: [activityInterceptors], workflowModules: modules },
      shutdownGraceTime: config.worker.shutdownGrace as `${number}s`,
      maxConcurrentActivityTaskExecutions: spec.maxConcurrentActivities ?? config.worker.maxConcurrentActivities,
      maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
      maxConcurrentLocalActivityExecutions: config.worker.maxConcurrentLocalActivities,
      maxCachedWorkflows: config.worker.maxCachedWorkflows,
      ...(spec.maxHeartbeatThrottleInterval ? { maxHeartbeatThrottleInterval: spec.maxHeartbeatThrottleInterval } : {}),
    });
    log.info(
      {
        taskQueue: spec.taskQueue,
        namespace: config.temporal.namespace,
        processes: spec.processes,
        metrics: `${config.worker.metricsHost}:${spec.metricsPort}`,
      },
      'worker polling',
    );
    await worker.run();
    log.info('worker stopped');
  } finally {
    await Promise.allSettled([connection.close(), pool.end(), redis?.quit(), vm?.close()]);
  }
}
