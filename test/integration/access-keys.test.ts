import { Client as PgClient } from 'pg';
import { createPool, type Pool } from '../../lib/infra/db';
import { createLogger } from '../../lib/infra/logger';
import { createRedis, type Redis } from '../../lib/infra/redis';
import { migrate } from '../../lib/infra/schema-migrations';
import { createAccessActivities } from '../../activities/access';
import { createApiKey } from '../../store/access/api-keys';
import { stackSettings } from '../../scripts/stack/parts';
import { runToEnd, startApi, type RunningProcess } from '../helpers/access';
import { waitUntil } from '../helpers/wait';

/**
 * API keys end to end, on the test stack's Postgres and Redis: the API as processes (two
 * instances sharing the stack), keys made by the CLI and the store, and every refusal a
 * client can meet. The keys live in a database of this file's own, so the other tests'
 * APIs (which run without keys, on loopback) are not closed by them.
 */
const s = stackSettings('test');
const portA = s.ports.api + 20;
const portB = s.ports.api + 21;
const tag = `access_${process.pid}`;
const base = new URL(process.env.DATABASE_URL!);
const db = new URL(base);
db.pathname = `/${tag}`;
const admin = new PgClient({ connectionString: base.toString() });
const log = createLogger({ log: { level: 'warn', pretty: false } }, 'test');
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATABASE_URL: db.toString(),
  LOG_LEVEL: 'debug',
  LOG_PRETTY: 'false',
  NODE_ENV: 'test',
  API_TOKEN: '',
  API_HOST: '127.0.0.1',
};
let pool: Pool;
let redis: Redis;
const apis: RunningProcess[] = [];
/** Every full key this file made, to look for in the logs and the table. */
const secrets: string[] = [];

const call = (port: number, method: string, path: string, key?: string, body?: string) =>
  fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body,
  });

async function makeKey(input: Parameters<typeof createApiKey>[1]): Promise<string> {
  const { key } = await createApiKey(pool, input);
  secrets.push(key);
  return key;
}

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${tag}`);
  await migrate(db.toString(), 'up', log);
  pool = createPool({ database: { url: db.toString(), poolMax: 4 } }, log, 'test');
  redis = createRedis({ redis: { url: process.env.REDIS_URL! } }, log);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(apis.map((a) => a.stop()));
  await pool?.end();
  await redis?.quit();
  await admin.query(`DROP DATABASE IF EXISTS ${tag} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
});

describe('secure by default (no key, no API_TOKEN)', () => {
  test('asked to listen on 0.0.0.0, the API refuses to start and names the fix', async () => {
    const run = await runToEnd('api/main.ts', [], { ...env, API_HOST: '0.0.0.0', API_PORT: String(portA) });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/refusing to serve an open API on 0\.0\.0\.0/);
    expect(run.output).toMatch(/npm run apikey -- create/);
    expect(run.output).toMatch(/API_TOKEN/);
  }, 120_000);

  test('on loopback it starts, says it is open, asks no key until the first key exists', async () => {
    const api = await startApi(portA, env);
    apis.push(api);
    try {
      expect(api.output()).toMatch(/the API is open, on loopback only/);
      const res = await call(portA, 'GET', '/api/v1/orders/1');
      expect(res.status).toBe(404);
      // The first key closes it, without a restart.
      const key = await makeKey({ name: 'first', scopes: ['orders:read'], tier: 'enterprise' });
      await waitUntil('the open API to ask for a key once one exists', async () => {
        return (await call(portA, 'GET', '/api/v1/orders/1')).status === 401;
      });
      expect((await call(portA, 'GET', '/api/v1/orders/1', key)).status).toBe(404);
    } finally {
      await api.stop();
    }
  }, 120_000);
});

describe('with keys', () => {
  let adminKey: string;
  let reader: string;
  beforeAll(async () => {
    // The CLI prints the key once, at creation.
    const made = await runToEnd(
      'scripts/access/cli.ts',
      ['create', '--name', 'ops', '--scopes', '*', '--tier', 'enterprise', '--expires', '30d'],
      env,
    );
    expect({ code: made.code, output: made.output }).toEqual({ code: 0, output: expect.stringContaining('"key"') });
    adminKey = JSON.parse(made.stdout).key;
    secrets.push(adminKey);
    reader = await makeKey({ name: 'reader', scopes: ['orders:read'], tier: 'enterprise' });
    apis.push(await startApi(portA, env), await startApi(portB, env));
  }, 180_000);

  test('no key, a malformed one or an unknown one: 401 with WWW-Authenticate: Bearer', async () => {
    for (const key of [undefined, 'nonsense', `${adminKey.split('.')[0]}.${'A'.repeat(43)}`]) {
      const res = await call(portA, 'GET', '/api/v1/orders/1', key);
      expect({ key, status: res.status }).toEqual({ key, status: 401 });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  test('a key with orders:read reads an order but cannot post one: 403 naming orders:write, body unread', async () => {
    expect((await call(portA, 'GET', '/api/v1/orders/1', reader)).status).toBe(404);
    // Not JSON: a 400 here would mean the body was parsed before the scope was checked.
    const res = await call(portA, 'POST', '/api/v1/orders', reader, '{not json');
    expect(res.status).toBe(403);
    const body = (await res.json()) as { scope: string; detail: string };
    expect(body.scope).toBe('orders:write');
    expect(body.detail).toContain('orders:write');
    expect((await call(portA, 'POST', '/api/v1/orders', adminKey, '{not json')).status).toBe(400);
  });

  test('a revoked key is refused at once by both API instances', async () => {
    const key = await makeKey({ name: 'to-revoke', scopes: ['orders:read'], tier: 'enterprise' });
    // Both instances have verified it: its lookup is in the shared cache.
    expect((await call(portA, 'GET', '/api/v1/orders/1', key)).status).toBe(404);
    expect((await call(portB, 'GET', '/api/v1/orders/1', key)).status).toBe(404);
    const revoked = await runToEnd('scripts/access/cli.ts', ['revoke', key.split('.')[0]], env);
    expect(revoked.code).toBe(0);
    for (const port of [portA, portB]) {
      const res = await call(port, 'GET', '/api/v1/orders/1', key);
      expect({ port, status: res.status }).toEqual({ port, status: 401 });
      expect(((await res.json()) as { detail: string }).detail).toMatch(/revoked/);
    }
  }, 60_000);

  test('rotate: a new key with the same scopes works, the old one is refused; list shows both, no secret', async () => {
    const old = await makeKey({ name: 'to-rotate', scopes: ['orders:read'], tier: 'enterprise' });
    const oldPrefix = old.split('.')[0];
    const rotated = await runToEnd('scripts/access/cli.ts', ['rotate', oldPrefix], env);
    expect(rotated.code).toBe(0);
    const fresh = (JSON.parse(rotated.stdout) as { key: string; scopes: string[] }).key;
    secrets.push(fresh);
    expect((await call(portA, 'GET', '/api/v1/orders/1', old)).status).toBe(401);
    expect((await call(portA, 'GET', '/api/v1/orders/1', fresh)).status).toBe(404);
    expect((await call(portA, 'POST', '/api/v1/orders', fresh, '{}')).status).toBe(403);
    const listed = await runToEnd('scripts/access/cli.ts', ['list'], env);
    const keys = JSON.parse(listed.stdout) as { prefix: string; name: string; revokedAt: string | null }[];
    expect(keys.filter((k) => k.name === 'to-rotate').map((k) => [k.prefix, k.revokedAt !== null])).toEqual([
      [oldPrefix, true],
      [fresh.split('.')[0], false],
    ]);
    for (const key of secrets) expect(listed.output).not.toContain(key.split('.')[1]);
  }, 60_000);

  test('an expired key is refused', async () => {
    const key = await makeKey({
      name: 'expired',
      scopes: ['orders:read'],
      tier: 'enterprise',
      expiresAt: new Date(Date.now() - 1000),
    });
    const res = await call(portB, 'GET', '/api/v1/orders/1', key);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/expired/);
  });

  test('a Free key gets 429 on its third request in a burst, with Retry-After and RateLimit headers', async () => {
    const key = await makeKey({ name: 'free', scopes: ['orders:read'], tier: 'free' });
    const burst = await Promise.all([1, 2, 3].map(() => call(portA, 'GET', '/api/v1/orders/1', key)));
    expect(burst.map((r) => r.status).sort()).toEqual([404, 404, 429]);
    const limited = burst.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit-limit')).toBe('2');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    // The bucket is shared: the other instance refuses it too.
    expect((await call(portB, 'GET', '/api/v1/orders/1', key)).status).toBe(429);
  });

  test('usage counted in Redis reaches the table at the flush, once', async () => {
    const key = await makeKey({ name: 'counted', scopes: ['orders:read'], tier: 'enterprise' });
    for (let i = 0; i < 3; i++) expect((await call(portA, 'GET', '/api/v1/orders/1', key)).status).toBe(404);
    const { flushApiKeyUsage } = createAccessActivities({ pool, redis });
    const flushed = await flushApiKeyUsage();
    expect(flushed.requests).toBeGreaterThanOrEqual(3);
    const row = async () =>
      (await pool.query('SELECT usage_count, last_used_at FROM api_keys WHERE prefix = $1', [key.split('.')[0]]))
        .rows[0];
    const after = await row();
    expect(Number(after.usage_count)).toBe(3);
    expect(after.last_used_at).toBeInstanceOf(Date);
    await flushApiKeyUsage();
    expect(Number((await row()).usage_count)).toBe(3);
  });

  test('no key is in the logs, the table or the cache in clear', async () => {
    const table = (await pool.query('SELECT row_to_json(k)::text AS row FROM api_keys k')).rows
      .map((r) => r.row as string)
      .join('\n');
    const cache = (await redis.keys('access:*')).join('\n');
    const cached = (await Promise.all((await redis.keys('access:key:*')).map((k) => redis.get(k)))).join('\n');
    const logs = apis.map((a) => a.output()).join('\n');
    expect(logs).toContain('GET'); // the request log is there to look in
    for (const key of secrets) {
      const secret = key.split('.')[1];
      expect(table).not.toContain(secret);
      expect(cache + cached).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
