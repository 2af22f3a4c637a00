import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import { createVmResources } from '../../activities/vm/resources';
import { loadConfig, type Config } from '../../lib/infra/config';
import { createPool, type Pool } from '../../lib/infra/db';
import { createLogger } from '../../lib/infra/logger';
import { createRedis, type Redis } from '../../lib/infra/redis';
import { activityInterceptors } from '../../workers/interceptors';
import { testBundlePath } from './paths';
import { quietRuntime } from './time-skipping';

/**
 * What integration tests use: the real Postgres, Redis and Temporal dev server that
 * test/setup/stack-up.ts started, and an in-process worker with the real activities.
 */
export interface StackHandles {
  config: Config;
  pool: Pool;
  redis: Redis;
  client: Client;
  connection: Connection;
  nativeConnection: NativeConnection;
  deps: ActivityDeps;
  close(): Promise<void>;
}

export async function connectStack(): Promise<StackHandles> {
  quietRuntime();
  const config = loadConfig();
  const log = createLogger(config, 'test');
  const pool = createPool(config, log, 'test');
  const redis = createRedis(config, log);
  const connection = await Connection.connect({ address: config.temporal.address });
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const deps: ActivityDeps = {
    config,
    pool,
    redis,
    log,
    client: new Client({ connection: nativeConnection, namespace: config.temporal.namespace }),
    stopping: new AbortController().signal,
    vm: createVmResources(config.libvirt),
  };
  return {
    config,
    pool,
    redis,
    client,
    connection,
    nativeConnection,
    deps,
    async close() {
      await Promise.allSettled([
        connection.close(),
        nativeConnection.close(),
        pool.end(),
        redis.quit(),
        deps.vm.close(),
      ]);
    },
  };
}

/** A worker with the real activities on the bundled workflows; pass `activities` to override some. */
export function stackWorker(
  stack: StackHandles,
  opts: Partial<WorkerOptions> & { taskQueue: string },
): Promise<Worker> {
  return Worker.create({
    connection: stack.nativeConnection,
    namespace: stack.config.temporal.namespace,
    workflowBundle: { codePath: testBundlePath },
    interceptors: { activity: [activityInterceptors] },
    ...opts,
    activities: { ...createActivities(stack.deps), ...opts.activities },
  });
}
