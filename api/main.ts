import { createServer } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../lib/infra/config';
import { createPool } from '../lib/infra/db';
import { createQueryMonitor } from '../lib/infra/query-monitor';
import { createLogger } from '../lib/infra/logger';
import { createRedis } from '../lib/infra/redis';
import { createFlagCache } from '../store/rollout/flag-cache';
import { temporalConnectionOptions } from '../lib/infra/temporal';
import { packageVersion } from '../lib/infra/version';
import { createApp } from './app';
import { createMetrics } from './metrics';
import { registerBusinessGauges } from './business-metrics';
import { checkExposure } from './access/exposure';

async function main() {
  const config = loadConfig();
  const log = createLogger(config, 'api');
  // Connect lazily so the API answers /healthz and reports Temporal in /readyz even while Temporal is down.
  const connection = Connection.lazy({ ...temporalConnectionOptions(config), connectTimeout: config.api.deadlineMs });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  // A request waits at most the API's deadline on Postgres, in parts: connect, run, and the
  // client's own limit for a server that stopped answering (a frozen server cancels nothing).
  const d = config.api.deadlineMs;
  const metrics = createMetrics();
  const queries = createQueryMonitor({
    registry: metrics.registry,
    prefix: 'orchestrator_api_',
    slowMs: config.api.slowQueryMs,
    log,
  });
  const pool = createPool(config, log, 'api', {
    connectMs: d * 0.6,
    statementMs: d * 0.7,
    queryMs: d * 0.8,
    client: queries.Client,
  });
  registerBusinessGauges(metrics.registry, pool, log);
  const redis = createRedis(config, log, { api: { deadlineMs: d } });
  // Before listening: an API that would be open beyond loopback does not start.
  const exposure = await checkExposure(config, pool, log);
  const flags = createFlagCache(redis);
  const app = createApp({
    config,
    client,
    pool,
    redis,
    flags,
    log,
    metrics,
    queries,
    keysAtStart: exposure === 'keys',
    version: packageVersion(),
  });

  // Node refuses a request line and headers over 16 KB with a bare 431 before the app sees it; with
  // 64 KB an over-long query string reaches validation and gets a 400 naming the parameter.
  const server = createServer({ maxHeaderSize: 64 * 1024 }, app).listen(config.api.port, config.api.host, () => {
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
