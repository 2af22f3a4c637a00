import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { ApplicationFailure } from '@temporalio/common';
import { CbbError, createCbbClient, parseRetryAfter } from '../../activities/cbb/client';
import { toFailure } from '../../workers/failure';
import { createCbbApp } from '../../scripts/cbb-server/app';
import { createStore } from '../../scripts/cbb-server/store';

/** The client against the local CBB server's app, in process, with its fault knobs. */
const key = 'unit-test-key';
const store = createStore();
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createCbbApp(store, key, 'unit-admin-token').listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => store.reset());

const client = (over: Partial<{ apiKey: string; timeoutMs: number; baseUrl: string }> = {}) =>
  createCbbClient({ baseUrl, apiKey: key, timeoutMs: 2000, ...over });

async function failure(p: Promise<unknown>): Promise<CbbError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CbbError) return err;
    throw err;
  }
  throw new Error('expected a CbbError');
}

test('creates, finds, reads and updates a contact', async () => {
  const cbb = client();
  const created = await cbb.createContact({
    phone: '+972501234567',
    firstName: 'Dana',
    lastName: 'Levi',
    fields: [{ name: 'order_id', value: 'IL-1' }],
    tags: ['visa-order'],
  });
  expect(created.hasWhatsapp).toBe(true);
  expect((await cbb.findContactsByPhone('+972501234567')).map((c) => c.id)).toEqual([created.id]);
  await cbb.setCustomField(created.id, '701005', '3');
  const read = await cbb.getContact(created.id);
  expect(read.fields).toMatchObject({ '701001': 'IL-1', '701005': '3' });
  const { messageId } = await cbb.sendWhatsappTemplate(created.id, {
    template: 'order_confirmation',
    language: 'he',
    params: { order_id: 'IL-1' },
  });
  expect(messageId).toMatch(/^msg-/);
  expect(store.messages()).toHaveLength(1);
});

test('a 429 is RateLimited, retryable, and carries Retry-After to Temporal as the next retry delay', async () => {
  store.setFaults({ rateLimitRate: 1, retryAfterSeconds: 7 });
  const err = await failure(client().findContactsByPhone('+972501234567'));
  expect(err).toMatchObject({
    type: 'RateLimited',
    delivery: 'not-sent',
    details: { retryAfterSeconds: 7, upstreamStatus: 429 },
  });
  const f = toFailure(err) as ApplicationFailure;
  expect(f.nonRetryable).toBe(false);
  expect(f.nextRetryDelay).toBe('7000ms');
  expect(f.details).toEqual([{ retryAfterSeconds: 7, upstreamStatus: 429 }]);
});

test("a 429 without a wait (Retry-After: 0) is Unavailable, retried on the policy's own backoff", async () => {
  store.setFaults({ rateLimitRate: 1, retryAfterSeconds: 0 });
  const err = await failure(client().findContactsByPhone('+972501234567'));
  expect(err).toMatchObject({ type: 'Unavailable', details: { upstreamStatus: 429 } });
  expect((toFailure(err) as ApplicationFailure).nextRetryDelay).toBeUndefined();
});

test('a 5xx is retryable', async () => {
  store.setFaults({ errorRate: 1 });
  const err = await failure(client().findContactsByPhone('+972501234567'));
  expect(err.type).toBe('Upstream');
  expect((toFailure(err) as ApplicationFailure).nonRetryable).toBe(false);
});

test('success:false in an HTTP 200 is an error: permanent unless CBB says to try again', async () => {
  const cbb = client();
  const contact = await cbb.createContact({
    phone: '+972501234567',
    firstName: 'A',
    lastName: 'B',
    fields: [],
    tags: [],
  });
  const invalid = await failure(cbb.setCustomField(contact.id, '701005', 'many'));
  expect(invalid.type).toBe('ValidationError');
  expect(invalid.message).toContain('Invalid value for visa_quantity');
  expect((toFailure(invalid) as ApplicationFailure).nonRetryable).toBe(true);

  store.setFaults({ softErrorRate: 1 });
  const soft = await failure(cbb.getContact(contact.id));
  expect(soft.type).toBe('Upstream');
});

test('a wrong access token is permanent, and the token is in no error', async () => {
  const err = await failure(client({ apiKey: 'wrong-secret-token' }).findContactsByPhone('+972501234567'));
  expect(err.type).toBe('Unauthorized');
  expect(JSON.stringify({ message: err.message, details: err.details })).not.toContain('wrong-secret-token');
});

test('a missing contact is permanent (404)', async () => {
  expect((await failure(client().getContact('999'))).type).toBe('NotFound');
});

test('no answer within the timeout is retryable, with an unknown outcome', async () => {
  store.setFaults({ timeoutRate: 1 });
  const err = await failure(client({ timeoutMs: 200 }).findContactsByPhone('+972501234567'));
  expect(err).toMatchObject({ type: 'Unavailable', delivery: 'unknown' });
  expect(err.message).toContain('no answer within 200 ms');
});

test('a refused connection never reached CBB', async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => probe.once('listening', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  const err = await failure(client({ baseUrl: `http://127.0.0.1:${port}/api` }).findContactsByPhone('+972501234567'));
  expect(err).toMatchObject({ type: 'Unavailable', delivery: 'not-sent' });
});

test('the local server drops creation actions it cannot apply, as CBB does', async () => {
  const c = await client().createContact({
    phone: '+972501234568',
    firstName: 'A',
    lastName: 'B',
    fields: [
      { name: 'visa_quantity', value: 'x' },
      { name: 'nope', value: '1' },
    ],
    tags: [],
  });
  expect(c.fields).toEqual({});
});

test('parseRetryAfter reads seconds and HTTP dates', () => {
  expect(parseRetryAfter('3')).toBe(3);
  expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6);
  expect(parseRetryAfter(null)).toBeUndefined();
  expect(parseRetryAfter('soon')).toBeUndefined();
});
