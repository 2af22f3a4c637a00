import type { Config } from '../lib/config';
import type { Pool } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { Redis } from '../lib/redis';
import { createCbbActivities } from './cbb';
import { createDataMigrationActivities } from './data-migrations';
import { createSelfCheckActivities } from './self-check';

/** What the worker builds once and hands to every activity factory. */
export interface ActivityDeps {
  config: Config;
  pool: Pool;
  redis: Redis;
  log: Logger;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
    ...createDataMigrationActivities(deps),
    ...createCbbActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
