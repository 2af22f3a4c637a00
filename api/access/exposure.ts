import type { Config } from '../../lib/infra/config';
import type { Pool } from '../../lib/infra/db';
import type { Logger } from '../../lib/infra/logger';
import { anyApiKey } from '../../store/access/api-keys';

/**
 * Secure by default: an API without a key or a token serves loopback only, and says so;
 * asked to listen anywhere else in that state it does not start.
 */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export class ExposureError extends Error {
  override name = 'ExposureError';
}

export async function checkExposure(config: Config, pool: Pool, log: Logger): Promise<'token' | 'keys' | 'open'> {
  if (config.api.token) return 'token';
  const keys = await anyApiKey(pool).then(
    (any) => any,
    (err: unknown) => {
      if (isLoopback(config.api.host)) return false;
      throw new ExposureError(
        `API_HOST=${config.api.host} needs API keys or API_TOKEN, and the api_keys table could not be read ` +
          `(${err instanceof Error ? err.message : String(err)}); start Postgres and run \`npm run migrate\``,
      );
    },
  );
  if (keys) return 'keys';
  if (!isLoopback(config.api.host))
    throw new ExposureError(
      `refusing to serve an open API on ${config.api.host}: no API key exists and API_TOKEN is not set. ` +
        'Create a key (`npm run apikey -- create --name ops --scopes "*" --tier enterprise`) or set API_TOKEN, ' +
        'or listen on 127.0.0.1',
    );
  log.warn(
    { host: config.api.host },
    'no API key exists and API_TOKEN is not set: the API is open, on loopback only; create a key with `npm run apikey -- create` to require keys',
  );
  return 'open';
}
