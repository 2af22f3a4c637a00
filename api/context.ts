import type { Client } from '@temporalio/client';
import type { Config } from '../lib/infra/config';
import type { Pool } from '../lib/infra/db';
import type { Logger } from '../lib/infra/logger';
import type { QueryMonitor } from '../lib/infra/query-monitor';
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
  /** Statement timing; absent where a test builds the app without it. */
  queries?: QueryMonitor;
  /** Whether an API key existed when the API started (api/access/exposure.ts); absent where a test builds the app. */
  keysAtStart?: boolean;
  /** Flags for the evaluation endpoint, kept fresh by Redis pub/sub; read from Redis each time when absent. */
  flags?: FlagCache;
  /** The package version, shown in the OpenAPI document. */
  version: string;
}
