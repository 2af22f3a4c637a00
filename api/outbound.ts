import { AppError } from '../lib/errors';
import type { Config } from '../lib/infra/config';
import { outboundPolicy } from '../lib/infra/outbound/policy';
import { systemResolve, vetOutbound, type Resolve } from '../lib/infra/outbound/vet';

/**
 * Holds the URLs of a request to the outbound policy the worker applies, so that a URL the
 * worker would refuse is a 400 naming its field now rather than a failed step later. The
 * worker checks again before each call: a name may resolve elsewhere by then.
 */
export function outboundGuard(config: Pick<Config, 'outbound'>, resolve: Resolve = systemResolve) {
  const policy = outboundPolicy(config.outbound);
  return async (urls: { field: string; url: string }[]): Promise<void> => {
    for (const { field, url } of urls) {
      try {
        await vetOutbound(policy, url, resolve);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        throw new AppError(err.type, `${field}: ${err.message}`, { errors: [{ field, message: err.message }] });
      }
    }
  };
}
