import { ReplyError } from 'ioredis';
import { toProblem } from '../../api/problem';
import { createRedis, redisOutageCause, type Redis } from '../../lib/infra/redis';

/** The API's Redis client with no server to reach: how its refusals read, and how the API answers them. */
describe('a Redis outage in the API', () => {
  let redis: Redis;
  beforeAll(() => {
    // Port 1 on loopback: nothing listens, the connection is refused.
    redis = createRedis({ redis: { url: 'redis://127.0.0.1:1' } }, undefined, { api: { deadlineMs: 2000 } });
  });
  afterAll(() => redis.disconnect());

  test('a command is refused at once and answers 503 with Retry-After, naming Redis', async () => {
    const started = Date.now();
    const err = await redis.get('flag:x').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(redisOutageCause(err)).toMatch(/enableOfflineQueue/);
    const p = toProblem(err);
    expect(p).toMatchObject({ status: 503, title: 'Unavailable', retryAfter: 5 });
    expect(p.detail).toMatch(/Redis/);
  });

  test("a transaction's abort is named by its commands' errors", async () => {
    const err = await redis
      .multi()
      .incr('a')
      .incr('b')
      .exec()
      .catch((e: unknown) => e);
    expect(Array.isArray((err as { previousErrors?: unknown }).previousErrors)).toBe(true);
    expect(toProblem(err).status).toBe(503);
  });

  test("Redis's own refusal of a command is no outage", () => {
    expect(redisOutageCause(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(
      undefined,
    );
  });

  test("a refused connection that is not ioredis's stays the database's", () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(redisOutageCause(err)).toBe(undefined);
    expect(toProblem(err).detail).toBe('the database is unavailable');
  });
});
