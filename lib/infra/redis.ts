import Redis from 'ioredis';
import type { Config } from './config';
import type { Logger } from './logger';

export type { Redis };

export function createRedis(config: Pick<Config, 'redis'>, log?: Logger): Redis {
  const redis = new Redis(config.redis.url, {
    // Fail commands fast while disconnected so activities surface the outage and retry.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
  });
  let lastError = '';
  redis.on('error', (err: Error) => {
    if (err.message !== lastError) log?.warn({ err: err.message }, 'redis connection error');
    lastError = err.message;
  });
  redis.on('ready', () => (lastError = ''));
  return redis;
}
