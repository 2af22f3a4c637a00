import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from '../../lib/infra/redis';

/**
 * Failed authentications, counted per client address and per key prefix in the Redis every
 * API instance shares (in this process while Redis is down). An attempt that would cost a
 * hash is charged before the hash runs and given back once the key is verified, so the
 * count is of failures while many attempts in flight at once still cannot outrun it: the
 * CPU a guesser can make the API spend is bounded by the limits, not by their rate.
 */
export interface FailureCharge {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
  retryAfterSeconds: number;
}

export interface FailedAuthLimiter {
  charge(address: string, prefix: string): Promise<FailureCharge>;
  refund(address: string, prefix: string): Promise<void>;
}

const windowSeconds = 60;

function limiter(redis: Redis, name: string, points: number): RateLimiterRedis {
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `access:failed:${name}`,
    points,
    duration: windowSeconds,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ points, duration: windowSeconds }),
  });
}

export function createFailedAuthLimiter(
  redis: Redis,
  limits: { perKey: number; perAddress: number },
): FailedAuthLimiter {
  const byAddress = limiter(redis, 'address', limits.perAddress);
  const byKey = limiter(redis, 'key', limits.perKey);

  const take = async (l: RateLimiterRedis, key: string, limit: number): Promise<FailureCharge> => {
    let res: RateLimiterRes;
    let allowed = true;
    try {
      res = await l.consume(key, 1);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      res = err;
      allowed = false;
    }
    const seconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    return { allowed, limit, remaining: res.remainingPoints, resetSeconds: seconds, retryAfterSeconds: seconds };
  };

  return {
    async charge(address, prefix) {
      // The prefix first: an attempt it already refuses is not counted against the address as well,
      // so a flood at one key does not shut out the other keys used from that address.
      const k = await take(byKey, prefix, limits.perKey);
      if (!k.allowed) return k;
      const a = await take(byAddress, address, limits.perAddress);
      if (!a.allowed) return a;
      return a.remaining / a.limit <= k.remaining / k.limit ? a : k;
    },
    async refund(address, prefix) {
      await Promise.allSettled([byAddress.reward(address, 1), byKey.reward(prefix, 1)]);
    },
  };
}
