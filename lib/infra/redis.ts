import Redis, { type RedisOptions } from 'ioredis';
import type { Config } from './config';
import type { Logger } from './logger';

export type { Redis };

/**
 * How commands behave while Redis is away. A worker's activities may wait a little (the
 * offline queue, two retries across reconnects) since Temporal retries them anyway. The
 * API answers people within its deadline: a command on a lost connection is refused at
 * once (no offline queue, no retry), and one Redis never answers gives up after half the
 * deadline, so the request is a 503 with Retry-After rather than a 500 seconds later.
 */
export type RedisRole = 'worker' | { api: { deadlineMs: number } };

function roleOptions(role: RedisRole): RedisOptions {
  if (role === 'worker') return { maxRetriesPerRequest: 2, enableOfflineQueue: true };
  return {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    commandTimeout: Math.max(100, Math.floor(role.api.deadlineMs / 2)),
  };
}

export function createRedis(config: Pick<Config, 'redis'>, log?: Logger, role: RedisRole = 'worker'): Redis {
  const redis = new Redis(config.redis.url, { ...roleOptions(role), lazyConnect: false });
  let lastError = '';
  redis.on('error', (err: Error) => {
    if (err.message !== lastError) log?.warn({ err: err.message }, 'redis connection error');
    lastError = err.message;
  });
  redis.on('ready', () => (lastError = ''));
  return redis;
}

const outageMessages = [
  /Stream isn't writeable/,
  /Connection is closed/,
  /Command timed out/,
  /max retries per request/i,
  /ECONNREFUSED|ECONNRESET|EPIPE/,
];

/**
 * The cause when err is ioredis reporting that Redis could not be reached or did not
 * answer; undefined for anything else (a script error, a wrong type). A transaction's
 * EXECABORT carries the commands' own errors in `previousErrors`: the first one names it.
 */
export function redisOutageCause(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const own = err.name === 'MaxRetriesPerRequestError' || outageMessages.some((m) => m.test(err.message));
  if (own && isFromIoredis(err)) return `${err.name}: ${err.message}`;
  const previous = (err as { previousErrors?: unknown }).previousErrors;
  if (Array.isArray(previous)) {
    for (const p of previous) {
      const cause = redisOutageCause(p);
      if (cause) return cause;
    }
  }
  return undefined;
}

/** ioredis's errors are raised from its own modules; a stack through them tells them from pg's or Temporal's. */
function isFromIoredis(err: Error): boolean {
  return err.name === 'MaxRetriesPerRequestError' || /[\\/]ioredis[\\/]/.test(err.stack ?? '');
}
