import pino, { type Logger } from 'pino';
import type { Config } from './config';

export type { Logger };

/**
 * Paths that may carry secrets. Pino's redaction is by path, so these cover the
 * shapes our logs take: request headers, config objects, partner payloads, errors.
 */
export const redactPaths = [
  'password',
  '*.password',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'accessToken',
  '*.accessToken',
  'authorization',
  '*.authorization',
  'secret',
  '*.secret',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-access-token"]',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-access-token"]',
  'headers["X-ACCESS-TOKEN"]',
  '*.headers["x-access-token"]',
  '*.headers["X-ACCESS-TOKEN"]',
  'res.headers["set-cookie"]',
  'config.database.url',
  'config.redis.url',
  'config.temporal.apiKey',
  'config.cbb.apiKey',
  'cbb.apiKey',
  'databaseUrl',
  'redisUrl',
];

/** Removes credentials from a URL so a connection string can be logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (/token|key|secret|password/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

export function createLogger(config: Pick<Config, 'log'>, name: string): Logger {
  return pino({
    name,
    level: config.log.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    transport: config.log.pretty
      ? { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
      : undefined,
  });
}
