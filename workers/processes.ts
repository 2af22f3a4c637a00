import type { Client } from '@temporalio/client';
import { createAccessActivities } from '../activities/access';
import { createBatchMigrationActivities } from '../activities/batch-migration';
import { createCbbActivities } from '../activities/cbb';
import { createSweepActivities } from '../activities/cbb/sweep';
import { createHmmActivities } from '../activities/hmm';
import { mergeActivities } from '../activities/merge';
import { createRolloutActivities } from '../activities/rollout';
import { createScheduleActivities } from '../activities/schedules';
import { createSelfCheckActivities } from '../activities/self-check';
import { createVmActivities } from '../activities/vm';
import type { VmResources } from '../activities/vm/resources';
import { accessSchedules } from '../lib/access/contract';
import { cbbSchedules } from '../lib/cbb/contract';
import { hmmSchedules } from '../lib/hmm/contract';
import type { Config } from '../lib/infra/config';
import type { Pool } from '../lib/infra/db';
import type { Logger } from '../lib/infra/logger';
import type { Redis } from '../lib/infra/redis';
import type { ScheduleSwitch } from '../lib/schedule';
import { vmSchedules } from '../lib/vm/contract';

/**
 * What each process brings to a worker that hosts it: its activities, its Schedules and
 * the connections it needs beyond Postgres and Temporal. A worker opens only what its
 * processes need and applies only their Schedules.
 */
export type Connection = 'redis' | 'libvirt';

export interface WorkerDeps {
  config: Config;
  pool: Pool;
  log: Logger;
  client: Client;
  stopping: AbortSignal;
  redis?: Redis;
  vm?: VmResources;
}

interface ProcessWiring {
  needs: readonly Connection[];
  activities: (deps: WorkerDeps) => object;
  schedules: (config: Config) => ScheduleSwitch[];
}

/** A connection the process declared; the worker opened it because the process is hosted. */
function opened<T>(value: T | undefined, what: Connection): T {
  if (value === undefined) throw new Error(`a hosted process needs ${what}, which it did not declare`);
  return value;
}

const none = (): ScheduleSwitch[] => [];

export const processes = {
  'self-check': { needs: [], activities: createSelfCheckActivities, schedules: none },
  cbb: {
    needs: [],
    activities: (d) => ({ ...createCbbActivities(d), ...createSweepActivities(d) }),
    schedules: (c) => cbbSchedules(c.cbb, c.temporal.taskQueue),
  },
  'batch-migration': { needs: [], activities: createBatchMigrationActivities, schedules: none },
  rollout: {
    needs: ['redis'],
    activities: (d) => createRolloutActivities({ ...d, redis: opened(d.redis, 'redis') }),
    schedules: none,
  },
  vm: {
    needs: ['libvirt'],
    activities: (d) => createVmActivities({ ...d, vm: opened(d.vm, 'libvirt') }),
    schedules: (c) => vmSchedules(c.vm, c.temporal.taskQueue),
  },
  access: {
    needs: ['redis'],
    activities: (d) => createAccessActivities({ ...d, redis: opened(d.redis, 'redis') }),
    schedules: (c) => accessSchedules(c.access, c.temporal.taskQueue),
  },
  hmm: {
    needs: ['redis'],
    activities: (d) => createHmmActivities({ ...d, redis: opened(d.redis, 'redis') }),
    schedules: (c) => hmmSchedules(c.hmm),
  },
} satisfies Record<string, ProcessWiring>;

export type ProcessName = keyof typeof processes;

export const needsOf = (hosted: readonly ProcessName[]): Set<Connection> =>
  new Set(hosted.flatMap((p) => processes[p].needs));

/** The activities of the hosted processes, with those every looping Schedule run asks; a name twice is refused. */
export function hostedActivities(hosted: readonly ProcessName[], deps: WorkerDeps): object {
  const parts: Record<string, object> = { schedules: createScheduleActivities(deps) };
  for (const p of hosted) parts[p] = processes[p].activities(deps);
  return mergeActivities(parts);
}

export const hostedSchedules = (hosted: readonly ProcessName[], config: Config): ScheduleSwitch[] =>
  hosted.flatMap((p) => processes[p].schedules(config));
