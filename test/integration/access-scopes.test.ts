import { request } from 'node:http';
import { Client as PgClient } from 'pg';
import { scopes, type Grant, grants, type Scope } from '../../lib/access/keys';
import { createPool, type Pool } from '../../lib/infra/db';
import { createLogger } from '../../lib/infra/logger';
import { migrate } from '../../lib/infra/schema-migrations';
import { rolloutWorkflowType } from '../../lib/rollout/contract';
import { createApiKey } from '../../store/access/api-keys';
import { apiTestPorts, startTestApi, type TestApi } from '../helpers/api-server';
import { connectStack, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * Every route of the OpenAPI document (read from a real app's /openapi.json), sent with a
 * key of each scope and in the spellings a router might take for it, each answer checked
 * against the scope the document declares for the route. The keys live in a database of
 * this file's own, so the other tests' open APIs stay open. Writes carry a body that is not
 * JSON: a key with the scope gets the parser's 400, proof the guard let it through without
 * a handler running; a key without it gets the guard's 403.
 */
const tag = `scopes_${process.pid}`;
const base = new URL(process.env.DATABASE_URL!);
const db = new URL(base);
db.pathname = `/${tag}`;
const admin = new PgClient({ connectionString: base.toString() });
const log = createLogger({ log: { level: 'warn', pretty: false } }, 'test');
// Workflows the API starts go to a queue no worker polls: nothing runs.
const taskQueue = uniqueTaskQueue('it-scopes');
let stack: StackHandles;
let pool: Pool;
let server: TestApi;
let port: number;
const keys = new Map<string, string>();
const keyOf = (grant: Grant) => keys.get(grant)!;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** A request as written, target and all: no client library normalises the path on the way. */
function send(method: string, target: string, key?: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: target,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // an SVG, an empty 304: only the status matters then
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface Operation {
  method: string;
  path: string;
  scope: Scope;
}

const params: Record<string, string> = {
  id: 'authz-probe-none',
  name: 'probe',
  action: 'start',
  key: 'authz-probe',
  symbol: 'AUTHZ',
};
const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_m, p: string) => params[p] ?? 'x');
const notJson = '{not json';

/** Spellings of a route's path that must match no route: case, trailing slash, percent-encoding. */
function variants(path: string): string[] {
  const segments = concrete(path).split('/').slice(1);
  const isStatic = path
    .split('/')
    .slice(1)
    .map((s) => !s.startsWith('{'));
  const out = new Set<string>();
  segments.forEach((seg, i) => {
    if (!isStatic[i] || !/[a-z]/.test(seg)) return;
    const upper = segments.map((s, j) => (j === i ? s[0].toUpperCase() + s.slice(1) : s));
    out.add(`/${upper.join('/')}`);
  });
  const full = `/${segments.join('/')}`;
  out.add(full.toUpperCase());
  out.add(`${full}/`);
  out.add(full.replace('/api/v1/', '/api/v1%2F'));
  const resource = segments[2];
  for (const code of [resource.charCodeAt(0), resource.toUpperCase().charCodeAt(0)])
    out.add(full.replace(`/v1/${resource}`, `/v1/%${code.toString(16).toUpperCase()}${resource.slice(1)}`));
  return [...out];
}

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${tag}`);
  await migrate(db.toString(), 'up', log);
  pool = createPool({ database: { url: db.toString(), poolMax: 4 } }, log, 'test');
  for (const grant of ['*', ...scopes] as Grant[]) {
    const { key } = await createApiKey(pool, { name: `scope-${grant}`, scopes: [grant], tier: 'enterprise' });
    keys.set(grant, key);
  }
  stack = await connectStack();
  port = apiTestPorts.first + 40;
  server = await startTestApi(stack, port, {
    pool,
    config: { temporal: { ...stack.config.temporal, taskQueue }, api: { ...stack.config.api, token: undefined } },
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await pool?.end();
  await stack?.close();
  await admin.query(`DROP DATABASE IF EXISTS ${tag} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
});

async function operations(): Promise<Operation[]> {
  const doc = (await send('GET', '/openapi.json')).body as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/api/'))
    .flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        scope: op['x-required-scope'] as Scope,
      })),
    );
}

test('every /api operation of the document declares one of the scopes', async () => {
  const ops = await operations();
  expect(ops.length).toBeGreaterThan(40);
  expect(ops.filter((op) => !scopes.includes(op.scope))).toEqual([]);
  expect(ops).toContainEqual({ method: 'GET', path: '/api/v1/flags', scope: 'flags:read' });
  expect(ops).toContainEqual({
    method: 'POST',
    path: '/api/v1/workflows/{id}/queries/{name}',
    scope: 'workflows:read',
  });
});

test('each key of each scope is let through exactly the routes its scope grants', async () => {
  const mismatches: string[] = [];
  for (const op of await operations()) {
    const target = concrete(op.path);
    const body = op.method === 'GET' ? undefined : notJson;
    for (const grant of ['*', ...scopes] as Grant[]) {
      const res = await send(op.method, target, keyOf(grant), body);
      const allowed = grants([grant], op.scope);
      const ok = allowed
        ? op.method === 'GET'
          ? ![401, 403, 405].includes(res.status) && res.status < 500
          : res.status === 400
        : res.status === 403 && res.body.scope === op.scope;
      if (!ok) mismatches.push(`${op.method} ${target} with ${grant}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }
  expect(mismatches).toEqual([]);
});

test('no other spelling of a route reaches it: 401 without a key, 404 with any key, 400 for an absolute URL', async () => {
  const mismatches: string[] = [];
  for (const op of await operations()) {
    const body = op.method === 'GET' ? undefined : notJson;
    for (const target of variants(op.path)) {
      const none = await send(op.method, target, undefined, body);
      if (none.status !== 401) mismatches.push(`${op.method} ${target} without a key: ${none.status}`);
      for (const grant of ['*', op.scope] as Grant[]) {
        const res = await send(op.method, target, keyOf(grant), body);
        if (res.status !== 404) mismatches.push(`${op.method} ${target} with ${grant}: ${res.status}`);
      }
    }
    for (const target of [`http://x${concrete(op.path)}`, `http://127.0.0.1:${port}${concrete(op.path)}`]) {
      const res = await send(op.method, target, keyOf('*'), body);
      if (res.status !== 400) mismatches.push(`${op.method} ${target}: ${res.status}`);
    }
  }
  expect(mismatches).toEqual([]);
});

test('a path no route declares is a 401 without a key and a 404 with one', async () => {
  for (const target of ['/api/v1/nothing-here', '/API/v1/orders/1', '/api/v2/orders/1']) {
    expect({ target, status: (await send('GET', target)).status }).toEqual({ target, status: 401 });
    expect({ target, status: (await send('GET', target, keyOf('orders:read'))).status }).toEqual({
      target,
      status: 404,
    });
  }
});

describe('the generic workflow API asks the scope of the workflow’s own process', () => {
  const workflowId = `authz-rollout-${process.pid}`;
  const call = (method: string, path: string, grant: Grant[], body?: string) =>
    send(method, path, keys.get(grant.join(','))!, body);

  beforeAll(async () => {
    // A workflow of the rollout's type on a queue no worker polls: its type is what counts.
    await stack.client.workflow.start(rolloutWorkflowType, { workflowId, taskQueue, args: [] });
    for (const set of [
      ['workflows:read'],
      ['workflows:write'],
      ['workflows:read', 'rollouts:read'],
      ['workflows:write', 'rollouts:write'],
    ] as Grant[][]) {
      const { key } = await createApiKey(pool, { name: set.join(','), scopes: set, tier: 'enterprise' });
      keys.set(set.join(','), key);
    }
  });
  afterAll(async () => {
    await stack.client.workflow
      .getHandle(workflowId)
      .terminate('test over')
      .catch(() => undefined);
  });

  test('workflows:write alone cannot send the rollout an update, nor cancel or terminate it', async () => {
    for (const [path, body] of [
      [`/api/v1/workflows/${workflowId}/updates/abort`, '{"args":[{"reason":"x"}]}'],
      [`/api/v1/workflows/${workflowId}/signals/approve`, '{}'],
      [`/api/v1/workflows/${workflowId}/cancel`, undefined],
      [`/api/v1/workflows/${workflowId}/terminate`, '{"reason":"x"}'],
    ] as const) {
      const res = await call('POST', path, ['workflows:write'], body);
      expect({ path, status: res.status, scope: res.body.scope }).toEqual({
        path,
        status: 403,
        scope: 'rollouts:write',
      });
    }
    const described = await stack.client.workflow.getHandle(workflowId).describe();
    expect(described.status.name).toBe('RUNNING');
  });

  test('reading it, by describe, query or list, needs rollouts:read besides workflows:read', async () => {
    const describe = `/api/v1/workflows/${workflowId}`;
    expect((await call('GET', describe, ['workflows:read'])).body.scope).toBe('rollouts:read');
    const read = await call('GET', describe, ['workflows:read', 'rollouts:read']);
    expect({ status: read.status, type: read.body.type }).toEqual({ status: 200, type: rolloutWorkflowType });
    const query = await call('POST', `${describe}/queries/status`, ['workflows:read'], '{}');
    expect({ status: query.status, scope: query.body.scope }).toEqual({ status: 403, scope: 'rollouts:read' });
    // An update's outcome is the rollout's to read as well.
    const outcome = await call('GET', `${describe}/update-outcomes/some-update`, ['workflows:read']);
    expect({ status: outcome.status, scope: outcome.body.scope }).toEqual({ status: 403, scope: 'rollouts:read' });
    const unknown = await call('GET', `${describe}/update-outcomes/some-update`, ['workflows:read', 'rollouts:read']);
    expect(unknown.status).toBe(404);

    const list = (grant: Grant[]) =>
      call('GET', `/api/v1/workflows?query=${encodeURIComponent(`WorkflowId = '${workflowId}'`)}`, grant);
    // Visibility catches up with the start shortly after it.
    await waitUntil('the rollout to be listed to a key that may read rollouts', async () => {
      const seen = await list(['workflows:read', 'rollouts:read']);
      if (seen.status !== 200) throw new Error(`the list answered ${seen.status}: ${JSON.stringify(seen.body)}`);
      return (seen.body.items as { workflowId: string }[]).some((i) => i.workflowId === workflowId);
    });
    const hidden = await list(['workflows:read']);
    expect({ status: hidden.status, items: hidden.body.items }).toEqual({ status: 200, items: [] });
  });

  test('a list query outside the allowed fields and operators is a 400 naming it, before Temporal sees it', async () => {
    for (const query of [`WorkflowType = 'x' UNION SELECT WorkflowId`, `RunId = 'x'`, `WorkflowType = 'x' AND`]) {
      const res = await call('GET', `/api/v1/workflows?query=${encodeURIComponent(query)}`, ['workflows:read']);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(String(res.body.detail)).toMatch(/^query: /);
    }
  });
});
