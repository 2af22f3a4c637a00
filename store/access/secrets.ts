import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * A key's secret is 32 random bytes, so the hash need not slow a guesser down much;
 * scrypt is kept for the table (a leaked dump gives nothing to work with) at parameters
 * that cost a few milliseconds, and a verified key is then checked against a SHA-256
 * in the Redis cache so that only a cache miss pays for scrypt.
 */
export interface HashParams {
  N: number;
  r: number;
  p: number;
  keylen: number;
}

export const defaultHashParams: HashParams = { N: 16_384, r: 8, p: 1, keylen: 32 };

export function newPrefix(): string {
  return `ak_${randomBytes(6).toString('hex')}`;
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function newSalt(): Buffer {
  return randomBytes(16);
}

export function hashSecret(secret: string, salt: Buffer, params: HashParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      secret,
      salt,
      params.keylen,
      { N: params.N, r: params.r, p: params.p, maxmem: 64 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

/** Same time whatever the inputs hold, so a caller learns nothing from how long a wrong secret takes. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The cache's fast verifier: the secret is high-entropy, so a plain digest with the prefix is enough. */
export function quickDigest(prefix: string, secret: string): string {
  return createHash('sha256').update(`${prefix}.${secret}`).digest('base64url');
}

export function sameDigest(a: string, b: string): boolean {
  return sameBytes(Buffer.from(a), Buffer.from(b));
}
