import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBuiltinMetrics } from '../../activities/rollout/builtin-metrics';
import { createApp } from '../../api/app';
import { createMetrics } from '../../api/metrics';
import { metricSpec } from '../../lib/rollout/metric-spec';
import { createRolloutClient } from '../../scripts/rollout/sdk';
import { createFlagCache } from '../../store/rollout/flag-cache';
import { setFlagWeight, writeFlag } from '../../store/rollout/flags';
import { apiClient } from '../helpers/http';
import { rolloutPorts } from '../helpers/rollout-services';
import { connectStack, type StackHandles } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

/** The flags API and the SDK against the stack's Redis: sticky evaluation, groups, kill switch, outcome reports. */
let stack: StackHandles;
let server: Server;
let base: string;
let api: ReturnType<typeof apiClient>;
const key = `checkout-${Date.now().toString(36)}`;

beforeAll(async () => {
  stack = await connectStack();
  const app = createApp({ ...stack, log: stack.deps.log, metrics: createMetrics(), version: 'test' });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api = apiClient(base);
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await stack?.close();
});

const canaries = async (ids: string[]) => {
  const out = new Set<string>();
  for (const id of ids) {
    const res = await api.post(`/api/v1/flags/${key}/evaluate`, { subject: { id } });
    expect(res.status).toBe(200);
    if (res.body.variant === 'canary') out.add(id);
  }
  return out;
};

test('evaluation is sticky as the weight grows; groups and the kill switch apply', async () => {
  const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
  expect((await api.post(`/api/v1/flags/${key}/evaluate`, { subject: { id: 'u' } })).status).toBe(404);
  const put = await api.put(`/api/v1/flags/${key}`, { weight: 25, groups: ['beta_users'] });
  expect(put).toMatchObject({ status: 200, body: { key, weight: 25, groups: ['beta_users'], killSwitch: false } });

  const at25 = await canaries(users);
  expect(at25.size).toBeGreaterThan(60); // 25 % of 400 is 100; the hash spreads them
  expect(at25.size).toBeLessThan(140);
  await api.put(`/api/v1/flags/${key}`, { weight: 50, groups: ['beta_users'] });
  const at50 = await canaries(users);
  expect([...at25].filter((u) => !at50.has(u))).toEqual([]); // nobody leaves the canary
  expect(at50.size).toBeGreaterThan(at25.size);

  const outsider = users.find((u) => !at50.has(u))!;
  const beta = await api.post(`/api/v1/flags/${key}/evaluate`, { subject: { id: outsider, groups: ['beta_users'] } });
  expect(beta.body).toMatchObject({ variant: 'canary', reason: 'group' });

  await api.put(`/api/v1/flags/${key}`, { weight: 50, groups: ['beta_users'], killSwitch: true });
  expect((await canaries(users)).size).toBe(0);
  expect((await api.get('/api/v1/flags')).body.items).toContainEqual({
    key,
    weight: 50,
    groups: ['beta_users'],
    killSwitch: true,
  });
  const bad = await api.put(`/api/v1/flags/${key}`, { weight: 120 });
  expect(bad.status).toBe(400);
  expect(bad.body.detail).toBe('weight: weight must be between 0 and 100');
});

test('the SDK evaluates, and its outcome reports feed the built-in metrics provider', async () => {
  const target = `sdk-${Date.now().toString(36)}`;
  await api.put(`/api/v1/flags/${target}`, { weight: 100, groups: [] });
  const sdk = createRolloutClient({ baseUrl: base, flushEveryMs: 50, maxBatch: 100 });
  expect(await sdk.evaluate(target, { id: 'alice' })).toMatchObject({ variant: 'canary', reason: 'percentage' });
  for (let i = 0; i < 100; i++) {
    const variant = i % 2 ? 'canary' : 'baseline';
    const fails = variant === 'canary' && i % 10 === 1; // 10 of the canary's 50 requests
    await sdk
      .track(target, variant, async () => {
        if (fails) throw new Error('boom');
      })
      .catch(() => undefined);
  }
  await sdk.close();
  const errorRate = metricSpec.parse({
    name: 'error-rate',
    provider: { type: 'builtin', measure: 'errorRate' },
    window: '1m',
    successCondition: { max: 0.05 },
  });
  const answer = await createBuiltinMetrics(stack.redis).measure(errorRate, {
    target,
    at: Date.now() + 10_000,
    baseline: true,
  });
  expect(answer).toMatchObject({ ok: true, canary: { value: 0.2 }, baseline: { value: 0 } });

  // The API out of reach: the SDK answers the baseline, never the canary.
  const down = createRolloutClient({ baseUrl: `http://127.0.0.1:${rolloutPorts.unused}`, timeoutMs: 500 });
  expect(await down.evaluate(target, { id: 'alice' })).toMatchObject({ variant: 'baseline', reason: 'unavailable' });
  // A missing flag, too.
  expect(await sdk.evaluate('no-such-flag', { id: 'alice' })).toMatchObject({
    variant: 'baseline',
    reason: 'unavailable',
    error: 'no flag no-such-flag; create it with PUT /api/v1/flags/no-such-flag',
  });
});

test('the flag cache drops its copy when a write publishes the key: an abort reaches evaluations at once', async () => {
  const flag = `cached-${Date.now().toString(36)}`;
  await writeFlag(stack.redis, { key: flag, weight: 40, groups: [], killSwitch: false });
  const cache = createFlagCache(stack.redis, { maxAgeMs: 60_000 });
  try {
    await waitUntil('the cache to serve from memory', async () => {
      await cache.get(flag);
      // Served from memory: a change made behind the cache's back (no publish) is not seen.
      await stack.redis.hset(`rollout:flag:${flag}`, 'weight', '41');
      const seen = (await cache.get(flag))?.weight;
      await stack.redis.hset(`rollout:flag:${flag}`, 'weight', '40');
      return seen === 40;
    });
    await setFlagWeight(stack.redis, flag, 0);
    await waitUntil('the cache to see weight 0', async () => (await cache.get(flag))?.weight === 0, {
      timeoutMs: 2000,
      intervalMs: 5,
    });
  } finally {
    await cache.close();
  }
});
