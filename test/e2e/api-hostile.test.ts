import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { stopProcess } from '../../scripts/stack/proc';
import { stackSettings, startAppPart } from '../../scripts/stack/parts';
import { orderFixture } from '../helpers/cbb';
import { waitUntil } from '../helpers/wait';

/**
 * The API under hostile input, as a process: no input gets a 5xx; each gets the status
 * its problem deserves, with a detail a user can act on, and nothing half-written.
 */
const s = stackSettings('test');

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** node:http rather than fetch: fetch refuses TRACE and normalises some of what we send. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.ports.api, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const json = (value: unknown) => JSON.stringify(value);
const postJson = (path: string, value: unknown, headers: Record<string, string> = {}) =>
  raw('POST', path, { 'content-type': 'application/json', ...headers }, json(value));

beforeAll(async () => {
  await startAppPart(s, 'api');
}, 120_000);
afterAll(async () => {
  await stopProcess(s, 'api');
  await stopProcess(s, 'worker', { graceMs: 60_000 });
});

const cases: [string, () => Promise<Raw>, number, RegExp][] = [
  // Checked by the API's own query grammar (lib/access/visibility-query.ts) before Temporal sees it.
  [
    'a visibility query that is not a comparison',
    () => raw('GET', '/api/v1/workflows?query=0000'),
    400,
    /^query: expected a field/,
  ],
  ['a 3 MB body', () => postJson('/api/v1/orders', { pad: 'x'.repeat(3 * 1024 * 1024) }), 413, /larger/],
  [
    'a charset the API does not read',
    () => raw('POST', '/api/v1/orders', { 'content-type': 'application/json; charset=latin-9' }, '{}'),
    415,
    /charset/,
  ],
  [
    'a content-encoding the API does not read',
    () => raw('POST', '/api/v1/orders', { 'content-type': 'application/json', 'content-encoding': 'zstd' }, '{}'),
    415,
    /encoding/,
  ],
  [
    'a gzip header on a plain body',
    () => raw('POST', '/api/v1/orders', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, '{"a":1}'),
    400,
    /./,
  ],
  ['a path that is not valid percent-encoding', () => raw('GET', '/api/v1/workflows/%ZZ'), 400, /./],
  [
    'JSON sent as text/plain',
    () => raw('POST', '/api/v1/orders', { 'content-type': 'text/plain' }, json(orderFixture())),
    415,
    /JSON/,
  ],
  [
    'a body that is not JSON',
    () => raw('POST', '/api/v1/orders', { 'content-type': 'application/json' }, '{"a":'),
    400,
    /JSON/,
  ],
  [
    'a NUL byte in customerName',
    () => postJson('/api/v1/orders', orderFixture({ customerName: 'Dana\u0000Levi' })),
    400,
    /customerName/,
  ],
  [
    'a NUL byte in externalId',
    () => postJson('/api/v1/orders', orderFixture({ externalId: 'A\u0000B' })),
    400,
    /externalId/,
  ],
  [
    'an entry date that does not exist',
    () => postJson('/api/v1/orders', orderFixture({ visa: { quantity: 1, entryDate: '2026-02-31' } })),
    400,
    /entryDate/,
  ],
  [
    'a 100-year self-check timer',
    () => postJson('/api/v1/self-checks', { wait: '99999999999999999999h' }),
    400,
    /wait/,
  ],
  ['an order id beyond any order', () => raw('GET', '/api/v1/orders/99999999999999999999999'), 400, /id/],
  ['a page size that is not a number', () => raw('GET', '/api/v1/workflows?pageSize=abc'), 400, /pageSize/],
  ['TRACE on a known path', () => raw('TRACE', '/api/v1/orders'), 405, /allowed/],
  [
    'PUT on a path that takes POST',
    () => raw('PUT', '/api/v1/orders', { 'content-type': 'application/json' }, '{}'),
    405,
    /POST/,
  ],
  [
    'the reverse of a run that does not exist',
    () => postJson('/api/v1/migrations/runs/migration-trades-risk-score-999999/reverse', {}),
    404,
    /no migration run/,
  ],
  ['an unknown route', () => raw('GET', '/api/v1/nothing-here'), 404, /no route/],
];

test.each(cases)('%s gets %#: the right 4xx with a detail', async (_what, send, status, detail) => {
  const res = await send();
  expect(res.status).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/application\/problem\+json/);
  expect(res.body.detail).toMatch(detail);
});

test('a wrong method is answered with the methods the path takes', async () => {
  const res = await raw('DELETE', '/api/v1/orders');
  expect(res.status).toBe(405);
  expect(res.headers.allow).toBe('POST');
});

test('an order posted again: identical is 200 and starts nothing, different is 409 and changes nothing', async () => {
  const order = orderFixture();
  const first = await postJson('/api/v1/orders', order);
  expect(first.status).toBe(201);
  const id = first.body.order.id as string;
  const runId = first.body.workflow.runId as string;

  const again = await postJson('/api/v1/orders', order);
  expect(again.status).toBe(200);
  expect(again.body.order.id).toBe(id);
  // No second run: the sync's workflow still has the first run as its latest.
  const wf = await raw('GET', `/api/v1/workflows/${first.body.workflow.workflowId}`);
  expect(wf.body.runId).toBe(runId);

  const changed = await postJson('/api/v1/orders', { ...order, customerName: 'Someone Else' });
  expect(changed.status).toBe(409);
  expect(changed.body.detail).toMatch(/customerName/);
  const stored = await raw('GET', `/api/v1/orders/${id}`);
  expect(stored.body.customerName).toBe(order.customerName);
});

test('a signal to a workflow that has completed is 409 "completed", not 404', async () => {
  const started = await postJson('/api/v1/self-checks', { wait: '1ms' });
  expect(started.status).toBe(201);
  const id = started.body.workflowId as string;
  // Needs a worker: the e2e files share the stack's worker process.
  await startAppPart(s, 'worker');
  await waitUntil(
    `${id} to complete`,
    async () => (await raw('GET', `/api/v1/workflows/${id}`)).body.status === 'COMPLETED',
  );
  const res = await postJson(`/api/v1/workflows/${id}/signals/anything`, { args: [] });
  expect(res.status).toBe(409);
  expect(res.body.detail).toMatch(/completed/);
  const missing = await postJson(`/api/v1/workflows/no-such-workflow-${Date.now()}/signals/anything`, { args: [] });
  expect(missing.status).toBe(404);
});

test('responses over 1 KB are gzipped for clients that ask, and a GET answers 304 to its own ETag', async () => {
  const doc = await raw('GET', '/openapi.json', { 'accept-encoding': 'gzip' });
  expect(doc.status).toBe(200);
  expect(doc.headers['content-encoding']).toBe('gzip');
  const plain = await raw('GET', '/openapi.json');
  const etag = String(plain.headers.etag);
  expect(etag).toMatch(/^W\//);
  const again = await raw('GET', '/openapi.json', { 'if-none-match': etag });
  expect(again.status).toBe(304);
  // A gzip body that is really gzip is read.
  const zipped = await raw(
    'POST',
    '/api/v1/self-checks',
    { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    gzipSync(json({ wait: '1ms' })),
  );
  expect(zipped.status).toBe(201);
});

test('/docs serves the API reference from local files', async () => {
  const page = await raw('GET', '/docs');
  expect(page.status).toBe(200);
  expect(String(page.body)).toMatch(/swagger-ui-bundle\.js/);
  const bundle = await raw('GET', '/docs/assets/swagger-ui-bundle.js');
  expect(bundle.status).toBe(200);
});
