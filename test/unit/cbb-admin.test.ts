import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createCbbApp } from '../../scripts/cbb-server/app';
import { createStore } from '../../scripts/cbb-server/store';

/** The local CBB server's `/_admin` side holds phone numbers and resets state: it answers to its token only. */
const store = createStore();
const token = 'admin-token-for-this-test';
let server: Server;
let root: string;

beforeAll(async () => {
  server = createCbbApp(store, 'api-key', token).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const admin = (method: string, path: string, authorization?: string) =>
  fetch(`${root}/_admin${path}`, { method, headers: authorization ? { authorization } : {} });

it.each([
  ['GET', '/contacts'],
  ['GET', '/requests'],
  ['GET', '/messages'],
  ['GET', '/stats'],
  ['GET', '/faults'],
  ['PUT', '/faults'],
  ['POST', '/reset'],
])('%s /_admin%s is 401 without the token or with another', async (method, path) => {
  for (const auth of [undefined, 'Bearer wrong', token, `Basic ${token}`, `Bearer ${token}x`]) {
    const res = await admin(method, path, auth);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="cbb-admin"');
  }
});

it('serves the admin routes with the token, and keeps nothing from a refused reset', async () => {
  const created = await fetch(`${root}/api/contacts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-ACCESS-TOKEN': 'api-key' },
    body: JSON.stringify({ phone: '+972521234567', first_name: 'Dana' }),
  });
  expect(created.status).toBe(200);
  expect((await admin('POST', '/reset')).status).toBe(401);
  const contacts = await admin('GET', '/contacts', `Bearer ${token}`);
  expect(contacts.status).toBe(200);
  expect(((await contacts.json()) as { phone: string }[]).map((c) => c.phone)).toEqual(['+972521234567']);
  expect((await admin('POST', '/reset', `Bearer ${token}`)).status).toBe(200);
  expect(store.contacts()).toEqual([]);
});

it('keeps the readiness probe open: it tells nothing', async () => {
  const res = await admin('GET', '/health');
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
});

it('will not run without an admin token', () => {
  expect(() => createCbbApp(createStore(), 'api-key', '')).toThrow('needs an admin token (CBB_ADMIN_TOKEN)');
});
