import type { Client } from '@temporalio/client';
import type { Config } from '../lib/infra/config';
import type { Pool } from '../lib/infra/db';
import type { Logger } from '../lib/infra/logger';
import type { Redis } from '../lib/infra/redis';
import type { FlagCache } from '../store/rollout/flag-cache';
import type { Metrics } from './metrics';

/** What every route receives: built once in api/main.ts (or by a test). */
export interface ApiContext {
  config: Config;
  client: Client;
  pool: Pool;
  redis: Redis;
  log: Logger;
  metrics: Metrics;
  /** Flags for the evaluation endpoint, kept fresh by Redis pub/sub; read from Redis each time when absent. */
  flags?: FlagCache;
  /** The package version, shown in the OpenAPI document. */
  version: string;
}
