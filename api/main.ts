import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../lib/infra/config';
import { createPool } from '../lib/infra/db';
import { createLogger } from '../lib/infra/logger';
import { createRedis } from '../lib/infra/redis';
import { createFlagCache } from '../store/rollout/flag-cache';
import { temporalConnectionOptions } from '../lib/infra/temporal';
import { packageVersion } from '../lib/infra/version';
import { createApp } from './app';
import { createMetrics } from './metrics';

async function main() {
  const config = loadConfig();
  const log = createLogger(config, 'api');
  // Connect lazily so the API answers /healthz and reports Temporal in /readyz even while Temporal is down.
  const connection = Connection.lazy(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const pool = createPool(config, log, 'api');
  const redis = createRedis(config, log);
  const flags = createFlagCache(redis);
  const app = createApp({
    config,
    client,
    pool,
    redis,
    flags,
    log,
    metrics: createMetrics(),
    version: packageVersion(),
  });

  const server = app.listen(config.api.port, config.api.host, () => {
    log.info({ url: `http://${config.api.host}:${config.api.port}` }, 'api listening');
  });
  server.on('error', (err) => {
    log.fatal({ err }, 'api could not listen');
    process.exit(1);
  });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'api shutting down');
    server.close(() => {
      void Promise.allSettled([connection.close(), pool.end(), flags.close(), redis.quit()]).then(() =>
        process.exit(0),
      );
    });
    // In-flight requests get 10 s; then we stop regardless.
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
