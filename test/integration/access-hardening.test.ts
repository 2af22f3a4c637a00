import { request, Agent } from 'node:http';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { Client as PgClient } from 'pg';
import pino from 'pino';
import { createApp } from '../../api/app';
import { createMetrics } from '../../api/metrics';
import type { Config } from '../../lib/infra/config';
import { createPool, type Pool } from '../../lib/infra/db';
import { createLogger } from '../../lib/infra/logger';
import { createRedis, type Redis } from '../../lib/infra/redis';
import { migrate } from '../../lib/infra/schema-migrations';
import { createApiKey } from '../../store/access/api-keys';
import { newPrefix, newSecret, quickDigest } from '../../store/access/secrets';
import { apiTestPorts } from '../helpers/api-server';
import { connectStack, type StackHandles } from '../helpers/stack';
import { testSlot } from '../../scripts/stack/settings';

/**
 * Authentication that does not trust Redis, does not hash for whoever asks, and keeps
 * keys out of URLs, on the test stack's Postgres and Redis: the real app in this process
 * on a database of this file's own (its keys would close the other tests' open APIs).
 * Each test speaks from a loopback address of its own, since failed attempts are counted
 * per address in the Redis every test shares.
 */
const tag = `hardening_${process.pid}`;
const base = new URL(process.env.DATABASE_URL!);
const db = new URL(base);
db.pathname = `/${tag}`;
const admin = new PgClient({ connectionString: base.toString() });
const quiet = createLogger({ log: { level: 'warn', pretty: false } }, 'test');
let stack: StackHandles;
let pool: Pool;
let redis: Redis;
let port = apiTestPorts.first + 40;
const servers: Server[] = [];
/** Everything the apps of this file logged, as JSON lines. */
const logLines: string[] = [];
let nextAddress = 2;
/** 127.0.<slot+10>.n: a source address no other test file uses. */
const freshAddress = () => `127.0.${10 + testSlot()}.${nextAddress++}`;

async function serve(over: Partial<Config['api']> = {}, deps: { pool?: Pool; redis?: Redis } = {}) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const app = createApp({
    config: { ...stack.config, api: { ...stack.config.api, token: undefined, ...over } },
    client: stack.client,
    pool: deps.pool ?? pool,
    redis: deps.redis ?? redis,
    log: pino({ level: 'debug' }, sink),
    metrics: createMetrics(),
    version: 'test',
  });
  const listening = port++;
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(listening, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  servers.push(server);
  return listening;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request from `from` (a loopback address), with keep-alive so a burst does not run out of ports. */
function call(p: number, agent: Agent, method: string, path: string, key?: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: p,
        method,
        path,
        agent,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const agentFrom = (localAddress: string) => new Agent({ keepAlive: true, maxSockets: 50, localAddress });

beforeAll(async () => {
  stack = await connectStack();
  await admin.connect();
  await admin.query(`CREATE DATABASE ${tag}`);
  await migrate(db.toString(), 'up', quiet);
  pool = createPool({ database: { url: db.toString(), poolMax: 4 } }, quiet, 'test');
  redis = createRedis({ redis: { url: process.env.REDIS_URL! } }, quiet);
  // A key exists before any app starts: none of them is the open, keyless API.
  await createApiKey(pool, { name: 'closes-the-api', scopes: ['orders:read'], tier: 'enterprise' });
}, 60_000);

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await pool?.end();
  await redis?.quit();
  await admin.query(`DROP DATABASE IF EXISTS ${tag} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  await stack?.close();
});

describe('Redis is a cache, not an authority', () => {
  test('a forged entry with scopes ["*"] for a prefix with no row does not authenticate', async () => {
    const p = await serve();
    const agent = agentFrom(freshAddress());
    const prefix = newPrefix();
    const secret = newSecret();
    const forged = { prefix, digest: quickDigest(prefix, secret), scopes: ['*'], tier: 'enterprise' };
    for (const entry of [
      { ...forged, expiresAt: null, revokedAt: null },
      { ...forged, expiresAt: null, revokedAt: null, mac: 'A'.repeat(43) },
    ]) {
      await redis.set(`access:key:${prefix}`, JSON.stringify(entry), 'EX', 60);
      const res = await call(p, agent, 'GET', '/api/v1/orders/1', `${prefix}.${secret}`);
      expect(res.status).toBe(401);
    }
    const warned = logLines.filter((l) => l.includes(prefix) && l.includes('does not carry'));
    // Logged once for the prefix, whatever the number of forged reads, and never with the secret.
    expect(warned).toHaveLength(1);
    expect(logLines.join('')).not.toContain(secret);
  });

  test('a real key whose cached scopes are widened keeps the scopes Postgres holds', async () => {
    const p = await serve();
    const agent = agentFrom(freshAddress());
    const { key } = await createApiKey(pool, { name: 'reader', scopes: ['orders:read'], tier: 'enterprise' });
    const prefix = key.split('.')[0];
    expect((await call(p, agent, 'GET', '/api/v1/orders/1', key)).status).toBe(404);
    const cached = JSON.parse((await redis.get(`access:key:${prefix}`))!) as { scopes: string[]; mac: string };
    expect(cached.scopes).toEqual(['orders:read']);
    await redis.set(`access:key:${prefix}`, JSON.stringify({ ...cached, scopes: ['*'] }), 'EX', 60);
    // Not JSON: a 400 would mean the widened scopes let the body be read.
    const res = await call(p, agent, 'POST', '/api/v1/orders', key, '{not json');
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text)).toMatchObject({ scope: 'orders:write' });
    // Postgres decided, and the entry is this API's own again.
    expect(JSON.parse((await redis.get(`access:key:${prefix}`))!)).toMatchObject({ scopes: ['orders:read'] });
  });

  test('without API_KEY_CACHE_SECRET nothing is cached and keys still work', async () => {
    const p = await serve({ keyCacheSecret: undefined });
    const agent = agentFrom(freshAddress());
    const { key } = await createApiKey(pool, { name: 'uncached', scopes: ['orders:read'], tier: 'enterprise' });
    expect((await call(p, agent, 'GET', '/api/v1/orders/1', key)).status).toBe(404);
    expect(await redis.exists(`access:key:${key.split('.')[0]}`)).toBe(0);
  });
});

describe('failed authentication', () => {
  test('1,000 wrong secrets for a known prefix: 429 with Retry-After and RateLimit headers past the limit', async () => {
    // Each wave of 50 must reach the failed-authentication limit, not the door's admission limit
    // in front of it (16 at work, 16 waiting by default; api-load-shedding tests that one).
    const p = await serve({
      authFailures: { perKey: 10, perAddress: 30 },
      admission: { maxInFlight: 50, maxQueued: 50 },
    });
    const agent = agentFrom(freshAddress());
    const { key } = await createApiKey(pool, { name: 'target', scopes: ['orders:read'], tier: 'enterprise' });
    const prefix = key.split('.')[0];
    // The holder's verified lookup is cached before the attack.
    expect((await call(p, agent, 'GET', '/api/v1/orders/1', key)).status).toBe(404);
    const cpu = process.cpuUsage();
    const started = Date.now();
    const answers: Answer[] = [];
    for (let wave = 0; wave < 20; wave++)
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, () => call(p, agent, 'GET', '/api/v1/orders/1', `${prefix}.${newSecret()}`)),
        )),
      );
    const used = process.cpuUsage(cpu);
    console.log(
      `1000 wrong secrets: ${Date.now() - started} ms, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU in this process`,
    );
    const unauthorized = answers.filter((a) => a.status === 401).length;
    const limited = answers.filter((a) => a.status === 429);
    // Ten a minute; a burst that straddles the fixed window's edge may meet two windows.
    expect(unauthorized).toBeGreaterThanOrEqual(10);
    expect(unauthorized).toBeLessThanOrEqual(20);
    expect(limited).toHaveLength(1000 - unauthorized);
    expect(Number(limited[0].headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited[0].headers['ratelimit-limit']).toBe('10');
    expect(limited[0].headers['ratelimit-remaining']).toBe('0');
    expect(Number(limited[0].headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    // The limit holds the attacker, not the holder, while the key's verified lookup is cached.
    expect((await call(p, agentFrom(freshAddress()), 'GET', '/api/v1/orders/1', key)).status).toBe(404);
  }, 60_000);

  test('failures per address are limited across prefixes, known or not', async () => {
    const p = await serve({ authFailures: { perKey: 10, perAddress: 5 } });
    const agent = agentFrom(freshAddress());
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await call(p, agent, 'GET', '/api/v1/orders/1', `${newPrefix()}.${newSecret()}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });

  test('a verified key gives its attempt back: more requests than the limit on a cold cache all pass', async () => {
    const p = await serve({ authFailures: { perKey: 2, perAddress: 2 }, keyCacheSecret: undefined });
    const agent = agentFrom(freshAddress());
    const { key } = await createApiKey(pool, { name: 'busy', scopes: ['orders:read'], tier: 'enterprise' });
    for (let i = 0; i < 5; i++) expect((await call(p, agent, 'GET', '/api/v1/orders/1', key)).status).toBe(404);
  });
});

describe('credentials in the query string', () => {
  test.each(['api_key', 'APIKEY', 'access_token', 'Token', 'key'])(
    '?%s=<key>: 400, the secret in no log and no body',
    async (name) => {
      const p = await serve();
      const { key } = await createApiKey(pool, { name: `in-query-${name}`, scopes: ['*'], tier: 'enterprise' });
      const secret = key.split('.')[1];
      const res = await call(
        p,
        agentFrom(freshAddress()),
        'GET',
        `/api/v1/orders/1?${name}=${encodeURIComponent(key)}`,
      );
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ errors: [{ field: name }] });
      expect(res.text).not.toContain(secret);
      expect(logLines.some((l) => l.includes('/api/v1/orders/1?'))).toBe(true);
      expect(logLines.join('')).not.toContain(secret);
    },
  );

  test('an ordinary ?key= (a flag key) is not a credential', async () => {
    const p = await serve();
    const res = await call(p, agentFrom(freshAddress()), 'GET', '/api/v1/orders/1?key=checkout');
    expect(res.status).not.toBe(400);
  });
});
