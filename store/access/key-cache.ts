import type { Redis } from '../../lib/infra/redis';
import type { Grant, Tier } from '../../lib/access/keys';
import type { KeySeal } from './key-seal';

/**
 * Verified keys' lookups, in the Redis every API instance shares (never in a process, where
 * a revoke could not reach it): 15 minutes, dropped at once on revoke. The entry holds a
 * SHA-256 of the key, not the key, and a MAC under the API's own secret (./key-seal.ts):
 * Redis is a cache, not an authority, so an entry that does not carry a valid MAC is
 * reported as forged and read as a miss, and Postgres decides.
 */
export interface CachedKey {
  prefix: string;
  digest: string;
  scopes: Grant[];
  tier: Tier;
  expiresAt: string | null;
  revokedAt: string | null;
}

export const keyCacheTtlSeconds = 15 * 60;
const cacheKey = (prefix: string) => `access:key:${prefix}`;

// Outlives any cache entry, so a lookup read from Postgres just before a revoke and cached just after is still refused.
const revokedKey = (prefix: string) => `access:revoked:${prefix}`;
const revokedTtlSeconds = 2 * keyCacheTtlSeconds;

export interface CacheRead {
  entry?: CachedKey;
  revoked: boolean;
  /** An entry was there but not one this API wrote: someone else can write to Redis. */
  forged: boolean;
}

function unseal(text: string, prefix: string, seal: KeySeal): CachedKey | undefined {
  let stored: CachedKey & { mac?: unknown };
  try {
    stored = JSON.parse(text) as CachedKey & { mac?: unknown };
  } catch {
    return undefined;
  }
  if (!stored || typeof stored !== 'object' || !Array.isArray(stored.scopes)) return undefined;
  const entry: CachedKey = {
    prefix: stored.prefix,
    digest: stored.digest,
    scopes: stored.scopes,
    tier: stored.tier,
    expiresAt: stored.expiresAt ?? null,
    revokedAt: stored.revokedAt ?? null,
  };
  if (entry.prefix !== prefix || typeof entry.digest !== 'string') return undefined;
  return seal.verify(entry, stored.mac as string) ? entry : undefined;
}

export async function readCachedKey(redis: Redis, prefix: string, seal: KeySeal): Promise<CacheRead> {
  const [text, revoked] = await redis.mget(cacheKey(prefix), revokedKey(prefix));
  const entry = text ? unseal(text, prefix, seal) : undefined;
  return { entry, revoked: revoked !== null, forged: !!text && !entry };
}

export async function cacheKeyLookup(redis: Redis, entry: CachedKey, seal: KeySeal): Promise<void> {
  const stored = { ...entry, mac: seal.sign(entry) };
  await redis.set(cacheKey(entry.prefix), JSON.stringify(stored), 'EX', keyCacheTtlSeconds);
}

/** On revoke: every API instance reads this Redis, so the next request with the key is refused on all of them. */
export async function dropCachedKey(redis: Redis, prefix: string): Promise<void> {
  await redis.multi().set(revokedKey(prefix), '1', 'EX', revokedTtlSeconds).del(cacheKey(prefix)).exec();
}
