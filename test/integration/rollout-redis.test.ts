import Redis from 'ioredis';
import { createBuiltinMetrics } from '../../activities/rollout/builtin-metrics';
import { createFlagController } from '../../activities/rollout/flag-controller';
import { listFlags, readFlag, writeFlag } from '../../store/rollout/flags';
import { evaluateFlag } from '../../lib/rollout/bucketing';
import { judgeMeasurement } from '../../lib/rollout/judge';
import { metricSpec } from '../../lib/rollout/metric-spec';
import { startRolloutRedis, type ServiceHandle } from '../helpers/rollout-services';

/** Feature flags and built-in metrics against a real redis-server started by the test. */
describe('rollout state in Redis', () => {
  let server: ServiceHandle & { url: string };
  let redis: Redis;

  beforeAll(async () => {
    server = await startRolloutRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  }, 90_000);

  afterAll(async () => {
    if (redis && redis.status !== 'end') await redis.quit();
    await server?.stop();
  });

  describe('flag controller', () => {
    it('reads 0 for a flag that does not exist, then sets the weight and keeps groups and kill switch', async () => {
      const c = createFlagController(redis, 'checkout');
      expect(await c.getWeight()).toBe(0);
      await writeFlag(redis, { key: 'checkout', weight: 5, groups: ['beta_users'], killSwitch: false });
      await c.setWeight(25);
      await c.setWeight(25);
      expect(await c.getWeight()).toBe(25);
      expect(await readFlag(redis, 'checkout')).toEqual({
        key: 'checkout',
        weight: 25,
        groups: ['beta_users'],
        killSwitch: false,
      });
    });

    it('creates a missing flag with no groups, and lists flags', async () => {
      await createFlagController(redis, 'search').setWeight(50);
      expect(await readFlag(redis, 'search')).toEqual({ key: 'search', weight: 50, groups: [], killSwitch: false });
      expect((await listFlags(redis)).map((f) => f.key)).toEqual(['checkout', 'search']);
    });

    it('weight 0 takes everyone off the canary, its target groups too', async () => {
      await createFlagController(redis, 'checkout').setWeight(0);
      const flag = (await readFlag(redis, 'checkout'))!;
      expect(evaluateFlag(flag, { id: 'u1', groups: ['beta_users'] }).variant).toBe('baseline');
    });

    it('refuses a malformed record rather than guessing', async () => {
      await redis.hset('rollout:flag:broken', { weight: '250', groups: '[]', killSwitch: '0' });
      await expect(readFlag(redis, 'broken')).rejects.toThrow(
        'flag broken in Redis is malformed: weight must be between 0 and 100',
      );
    });
  });

  describe('built-in metrics', () => {
    const errorRate = metricSpec.parse({
      name: 'error-rate',
      provider: { type: 'builtin', measure: 'errorRate' },
      window: '1m',
      successCondition: { max: 0.05 },
      relative: { maxIncrease: 0.5 },
    });
    const latency = metricSpec.parse({
      name: 'latency-p95',
      provider: { type: 'builtin', measure: 'latency', quantile: 0.95 },
      window: '1m',
      successCondition: { max: 2 },
      compare: { tolerance: 0.3 },
    });
    const at = Date.UTC(2030, 0, 1, 12, 0, 0);

    it('measures per-variant error rates and latency quantiles over the window', async () => {
      const m = createBuiltinMetrics(redis, { bucketMs: 10_000 });
      const target = 'shop';
      for (let i = 0; i < 100; i++) {
        const t = at - 50_000 + i * 500;
        await m.record(target, 'baseline', { ok: i % 50 !== 0, latencyMs: 100 + (i % 10) }, t);
        await m.record(target, 'canary', { ok: i % 10 !== 0, latencyMs: 300 + (i % 10) }, t);
      }
      // Outside the window: must not count.
      await m.record(target, 'canary', { ok: false, latencyMs: 9000 }, at - 120_000);

      const rate = await m.measure(errorRate, { target, at, baseline: true });
      expect(rate).toMatchObject({ ok: true, canary: { value: 0.1 }, baseline: { value: 0.02 } });
      const v = judgeMeasurement(errorRate, rate, { baseline: true });
      expect(v.verdict).toBe('fail');
      expect(v.reason).toContain('error-rate 0.1 breaks ≤ 0.05');

      const lat = await m.measure(latency, { target, at, baseline: true });
      if (!lat.ok) throw new Error(lat.error);
      expect(lat.canary.samples).toHaveLength(100);
      // p95 of 300..309 ms repeated: numpy.quantile([...]*10, 0.95) = 0.309 s
      expect(lat.canary.value).toBeCloseTo(0.309, 9);
      const lv = judgeMeasurement(latency, lat, { baseline: true });
      expect(lv.verdict).toBe('fail'); // 3× slower, significant: the comparison fails it
      expect(lv.checks.map((c) => [c.kind, c.verdict])).toEqual([
        ['absolute', 'pass'],
        ['mann-whitney', 'fail'],
      ]);
    });

    it('reads a window without requests as empty: inconclusive, never a rate of 0', async () => {
      const m = createBuiltinMetrics(redis);
      const answer = await m.measure(errorRate, { target: 'quiet', at, baseline: true });
      expect(answer).toMatchObject({ ok: true, canary: { value: null }, baseline: { value: null } });
      expect(judgeMeasurement(errorRate, answer, { baseline: true })).toMatchObject({
        verdict: 'inconclusive',
        unjudged: 'empty',
      });
    });

    it('answers a provider error while Redis is down', async () => {
      await redis.quit();
      await server.stop();
      const down = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
      down.on('error', () => undefined); // the refused connection, reported through the answer
      const ended = new Promise((resolve) => down.once('end', resolve));
      const answer = await createBuiltinMetrics(down).measure(errorRate, { target: 'shop', at, baseline: false });
      await ended; // no retries: the client gives up after the refused connection
      expect(answer).toEqual({ ok: false, error: expect.stringContaining('built-in metrics in Redis:') });
      expect(judgeMeasurement(errorRate, answer, { baseline: false })).toMatchObject({
        verdict: 'inconclusive',
        unjudged: 'error',
      });
    });
  });
});
