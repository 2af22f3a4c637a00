import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { validationError } from '../../lib/errors';
import { principalOf } from '../access/principal';

/** The request header that names a request, so that its resend is the same request. */
export const idempotencyHeader = 'Idempotency-Key';
const acceptable = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id Temporal knows an update by, chosen before it is sent so that the caller can
 * follow it even when no answer comes in time. Temporal runs an update id once per
 * workflow run and answers a resend with the first one's outcome; so an
 * Idempotency-Key makes the id, and a client's retry of an operation whose answer it
 * never got cannot run the operation twice. The update's name and the caller's key
 * prefix are part of the id: one key sent to two operations, or by two callers, names
 * two updates.
 */
export function updateIdFor(req: Request, res: Response, update: string): string {
  const key = req.get(idempotencyHeader);
  if (key === undefined) return randomUUID();
  if (!acceptable.test(key))
    throw validationError(`${idempotencyHeader} must be 1-128 letters, digits and . _ : -`, {
      errors: [{ field: idempotencyHeader, message: 'letters, digits and . _ : -, at most 128' }],
    });
  const caller = principalOf(res)?.prefix;
  // Neither an update's name nor a key prefix holds a colon: the id reads back unambiguously.
  return `${update}:${caller ?? '-'}:${key}`;
}
