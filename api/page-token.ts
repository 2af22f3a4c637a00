import { createHash } from 'node:crypto';
import { z } from 'zod';
import { validationError } from '../lib/errors';

/**
 * The API's page tokens wrap the store's (Temporal's visibility token, a keyset cursor)
 * with a check value bound to the query they page through: a token the API did not
 * issue, or one used with another query, is a 400 instead of reaching a store that may
 * fail on it in its own way.
 */
const check = (payload: string, scope: string) =>
  createHash('sha256').update(`${scope}\n${payload}`).digest('base64url').slice(0, 12);

export function encodePageToken(raw: Uint8Array | string, scope: string): string {
  const payload = Buffer.from(raw).toString('base64url');
  return `${payload}.${check(payload, scope)}`;
}

export function decodePageToken(token: string, scope: string): Buffer {
  const [payload, sum, extra] = token.split('.');
  if (extra !== undefined || !payload || !sum || check(payload, scope) !== sum) {
    throw validationError('pageToken is not a nextPageToken this API issued for this query');
  }
  return Buffer.from(payload, 'base64url');
}

/** The pattern every page token matches, for the request schemas. */
export const pageTokenPattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{12}$/;

/**
 * The `pageToken` query parameter of every paged list: the `nextPageToken` of the previous
 * page, as given. Room for Temporal's visibility tokens, the longest the API wraps.
 */
export const pageTokenParam = z
  .string()
  .max(4096)
  .regex(pageTokenPattern, 'the nextPageToken of the previous page, as given')
  .optional();
