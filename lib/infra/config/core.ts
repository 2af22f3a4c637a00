import { z } from 'zod';
import { bool, optional } from './shared';

/** What every process needs: environment, logging, Temporal, Postgres and Redis. */
export const coreEnv = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: bool.optional(),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('orchestrator'),
  TEMPORAL_UI_URL: z.string().url().default('http://localhost:8233'),
  TEMPORAL_TLS: bool.default('false'),
  TEMPORAL_TLS_CERT_PATH: optional,
  TEMPORAL_TLS_KEY_PATH: optional,
  TEMPORAL_TLS_CA_PATH: optional,
  TEMPORAL_TLS_SERVER_NAME: optional,
  TEMPORAL_API_KEY: optional,

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .default('postgres://orchestrator:orchestrator@127.0.0.1:55432/orchestrator'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(20),

  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:56379'),
});

type CoreEnv = z.infer<typeof coreEnv>;

export interface CoreConfig {
  env: CoreEnv['NODE_ENV'];
  log: { level: CoreEnv['LOG_LEVEL']; pretty: boolean };
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    uiUrl: string;
    tls?: { certPath?: string; keyPath?: string; caPath?: string; serverName?: string };
    apiKey?: string;
  };
  database: { url: string; poolMax: number };
  redis: { url: string };
}

export function coreConfig(e: CoreEnv): CoreConfig {
  const useTls = e.TEMPORAL_TLS || !!e.TEMPORAL_TLS_CERT_PATH || !!e.TEMPORAL_API_KEY;
  return {
    env: e.NODE_ENV,
    log: { level: e.LOG_LEVEL, pretty: e.LOG_PRETTY ?? !!process.stdout.isTTY },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL.replace(/\/$/, ''),
      tls: useTls
        ? {
            certPath: e.TEMPORAL_TLS_CERT_PATH,
            keyPath: e.TEMPORAL_TLS_KEY_PATH,
            caPath: e.TEMPORAL_TLS_CA_PATH,
            serverName: e.TEMPORAL_TLS_SERVER_NAME,
          }
        : undefined,
      apiKey: e.TEMPORAL_API_KEY,
    },
    database: { url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX },
    redis: { url: e.REDIS_URL },
  };
}
