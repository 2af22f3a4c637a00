import type { Request, Response } from 'express';
import { updateIdFor } from '../../api/updates/update-id';

/** The id an update is sent under: a resend with the same Idempotency-Key must name the same update. */
const req = (key?: string) => ({ get: (name: string) => (name === 'Idempotency-Key' ? key : undefined) }) as Request;
const res = (prefix?: string) => ({ locals: prefix ? { principal: { prefix, scopes: ['*'] } } : {} }) as Response;

test('without a key each request is a new update', () => {
  expect(updateIdFor(req(), res(), 'snapshot')).not.toBe(updateIdFor(req(), res(), 'snapshot'));
});

test('one key, one update: the same for a resend, apart for another operation or another caller', () => {
  const id = updateIdFor(req('k-1'), res('ak_0123456789ab'), 'snapshot');
  expect(id).toBe('snapshot:ak_0123456789ab:k-1');
  expect(updateIdFor(req('k-1'), res('ak_0123456789ab'), 'snapshot')).toBe(id);
  expect(updateIdFor(req('k-1'), res('ak_0123456789ab'), 'delete')).not.toBe(id);
  expect(updateIdFor(req('k-1'), res('ak_ba9876543210'), 'snapshot')).not.toBe(id);
  expect(updateIdFor(req('k-1'), res(), 'snapshot')).toBe('snapshot:-:k-1');
});

test('a key outside the allowed characters is a 400 naming the header', () => {
  expect(() => updateIdFor(req('a/b'), res(), 'snapshot')).toThrow(/Idempotency-Key must be/);
  expect(() => updateIdFor(req('x'.repeat(129)), res(), 'snapshot')).toThrow(/Idempotency-Key/);
});
