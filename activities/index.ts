import type { Client } from '@temporalio/client';
import type { Config } from '../lib/infra/config';
import type { Pool } from '../lib/infra/db';
import type { Logger } from '../lib/infra/logger';
import type { Redis } from '../lib/infra/redis';
import { createCbbActivities } from './cbb';
import { createSweepActivities } from './cbb/sweep';
import { createBatchMigrationActivities } from './batch-migration';
import { createRolloutActivities } from './rollout';
import { createSelfCheckActivities } from './self-check';
import { createVmActivities } from './vm';
import type { VmResources } from './vm/resources';
import { createAccessActivities } from './access';
import { createScheduleActivities } from './schedules';
import { mergeActivities } from './merge';

/** What the worker builds once and hands to every activity factory. */
export interface ActivityDeps {
  config: Config;
  pool: Pool;
  redis: Redis;
  log: Logger;
  /** On the worker's own connection, so that workflows it starts can start eagerly on that worker. */
  client: Client;
  /** Aborted when the worker starts to shut down, before its grace time runs. */
  stopping: AbortSignal;
  /** The libvirt connection pool and adapter, built once per worker (no connection before the first VM activity). */
  vm: VmResources;
}

/** Every activity of the orchestrator worker's processes, as tests build them; a name defined twice is refused. */
export function createActivities(deps: ActivityDeps) {
  return mergeActivities({
    selfCheck: createSelfCheckActivities(deps),
    batchMigration: createBatchMigrationActivities(deps),
    cbb: createCbbActivities(deps),
    cbbSweep: createSweepActivities(deps),
    vm: createVmActivities(deps),
    access: createAccessActivities(deps),
    rollout: createRolloutActivities(deps),
    schedules: createScheduleActivities(deps),
  });
}
