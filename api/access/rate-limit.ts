import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { Counter, type Registry } from 'prom-client';
import { tierLimits, tiers, type Tier } from '../../lib/access/keys';
import type { Redis } from '../../lib/infra/redis';

/**
 * A token bucket per key in the Redis every API instance shares: `burst` tokens at most,
 * refilled continuously at the tier's rate. rate-limiter-flexible runs the Redis side; its
 * default script is a fixed window (which lets twice the burst through across a window's
 * edge), so the limiter is given a bucket script instead. It receives the points to take,
 * the limiter's capacity and the seconds a full refill takes, and answers in the library's
 * terms: points "consumed" (capacity minus the tokens left; over capacity means refused)
 * and the milliseconds until the bucket is full again, or, when refused, until a token is back.
 */
const tokenBucketScript = `
local cost = tonumber(ARGV[1])
local capacity = tonumber(ARGV[3])
local perMs = capacity / (tonumber(ARGV[4]) * 1000)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * perMs)
local consumed, ms
if tokens >= cost then
  tokens = tokens - cost
  consumed = math.ceil(capacity - tokens)
  ms = math.ceil((capacity - tokens) / perMs)
else
  consumed = capacity + cost
  ms = math.ceil((cost - tokens) / perMs)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / perMs) + 1000)
return {consumed, ms}`;

export type RateDecision =
  | { allowed: boolean; limit: number; remaining: number; resetSeconds: number; retryAfterSeconds: number }
  | { allowed: boolean; redisDown: true };

export interface RateLimiter {
  take(prefix: string, tier: Tier): Promise<RateDecision>;
}

export function createRateLimiter(
  redis: Redis,
  opts: { onRedisDown: 'open' | 'closed'; registry: Registry },
): RateLimiter {
  const redisErrors = new Counter({
    name: 'orchestrator_api_rate_limit_redis_errors_total',
    help: 'Rate-limit checks that could not reach Redis, by what the API did (let the request through or refused it)',
    labelNames: ['outcome'],
    registers: [opts.registry],
  });
  const limiters = Object.fromEntries(
    tiers.map((tier) => {
      const { perMinute, burst } = tierLimits[tier];
      const limiter = new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `access:rate:${tier}`,
        points: burst,
        // Seconds a bucket takes to fill from empty: burst tokens at perMinute a minute.
        duration: (burst * 60) / perMinute,
        rejectIfRedisNotReady: true,
        customIncrTtlLuaScript: tokenBucketScript,
      });
      return [tier, { limiter, burst }];
    }),
  ) as Record<Tier, { limiter: RateLimiterRedis; burst: number }>;

  const decision = (allowed: boolean, burst: number, res: RateLimiterRes): RateDecision => ({
    allowed,
    limit: burst,
    remaining: res.remainingPoints,
    resetSeconds: Math.ceil(res.msBeforeNext / 1000),
    retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  });

  return {
    async take(prefix, tier) {
      const { limiter, burst } = limiters[tier];
      try {
        return decision(true, burst, await limiter.consume(prefix, 1));
      } catch (err) {
        if (err instanceof RateLimiterRes) return decision(false, burst, err);
        const allowed = opts.onRedisDown === 'open';
        redisErrors.inc({ outcome: allowed ? 'allowed' : 'refused' });
        return { allowed, redisDown: true };
      }
    },
  };
}
