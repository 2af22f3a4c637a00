import { createHmac } from 'node:crypto';
import { sameDigest } from './secrets';

/**
 * A MAC over every field of a cached key, under a secret Redis never sees: whoever can
 * write to Redis can drop or delay entries but not mint one, nor widen a key's scopes,
 * tier, expiry or revocation. The fields are framed as a JSON array in a fixed order, so
 * no two different entries share the text that is signed.
 */
const version = 'v1';

/** A cached key's fields (./key-cache.ts's Sealed), as far as the MAC covers them. */
interface Sealed {
  prefix: string;
  digest: string;
  scopes: readonly string[];
  tier: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

function signedText(e: Sealed): string {
  return JSON.stringify([version, e.prefix, e.digest, [...e.scopes], e.tier, e.expiresAt, e.revokedAt]);
}

export interface KeySeal {
  sign(entry: Sealed): string;
  verify(entry: Sealed, mac: string): boolean;
}

export function keySeal(secret: string): KeySeal {
  const sign = (entry: Sealed) => createHmac('sha256', secret).update(signedText(entry)).digest('base64url');
  return {
    sign,
    verify: (entry, mac) => typeof mac === 'string' && sameDigest(sign(entry), mac),
  };
}
