import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createRateLimiter } from '../../api/access/rate-limit';
import { createRedis, type Redis } from '../../lib/infra/redis';
import { waitUntil } from '../helpers/wait';

/**
 * The tier buckets on the test stack's Redis, and on a Redis that is not there: the
 * setting decides whether a request goes through, and the metric counts it either way.
 */
let redis: Redis;
let down: Redis;
beforeAll(async () => {
  redis = createRedis({ redis: { url: process.env.REDIS_URL! } });
  // Nothing listens on port 1: every command fails.
  down = createRedis({ redis: { url: 'redis://127.0.0.1:1' } });
  await waitUntil('the test Redis to be ready', () => redis.status === 'ready');
});
afterAll(() => {
  redis.disconnect();
  down.disconnect();
});

test('a Standard key spends its burst of 20, then waits for a token; another key is unaffected', async () => {
  const limiter = createRateLimiter(redis, { onRedisDown: 'open', registry: new Registry() });
  const key = `ak_${randomUUID()}`;
  const taken = await Promise.all(Array.from({ length: 21 }, () => limiter.take(key, 'standard')));
  expect(taken.filter((d) => d.allowed)).toHaveLength(20);
  const refused = taken.find((d) => !d.allowed)!;
  // 100 a minute: a token is back within 0.6 s, so Retry-After is its 1-second floor.
  expect(refused).toMatchObject({ limit: 20, remaining: 0, retryAfterSeconds: 1 });
  expect((await limiter.take(`ak_${randomUUID()}`, 'standard')).allowed).toBe(true);
});

test.each([
  ['open', true, 'allowed'],
  ['closed', false, 'refused'],
] as const)('Redis down, %s: allowed=%s, counted', async (setting, allowed, outcome) => {
  const registry = new Registry();
  const limiter = createRateLimiter(down, { onRedisDown: setting, registry });
  expect(await limiter.take('ak_000000000000', 'free')).toEqual({ allowed, redisDown: true });
  const metric = await registry.getSingleMetric('orchestrator_api_rate_limit_redis_errors_total')!.get();
  expect(metric.values).toEqual([expect.objectContaining({ labels: { outcome }, value: 1 })]);
});
