import type { Redis } from '../../lib/infra/redis';
import type { Grant, Tier } from '../../lib/access/keys';

/**
 * Verified keys' lookups, in the Redis every API instance shares (never in a process, where
 * a revoke could not reach it): 15 minutes, dropped at once on revoke. The entry holds a
 * SHA-256 of the key, not the key.
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

export async function readCachedKey(redis: Redis, prefix: string): Promise<{ entry?: CachedKey; revoked: boolean }> {
  const [text, revoked] = await redis.mget(cacheKey(prefix), revokedKey(prefix));
  return { entry: text ? (JSON.parse(text) as CachedKey) : undefined, revoked: revoked !== null };
}

export async function cacheKeyLookup(redis: Redis, entry: CachedKey): Promise<void> {
  await redis.set(cacheKey(entry.prefix), JSON.stringify(entry), 'EX', keyCacheTtlSeconds);
}

/** On revoke: every API instance reads this Redis, so the next request with the key is refused on all of them. */
export async function dropCachedKey(redis: Redis, prefix: string): Promise<void> {
  await redis.multi().set(revokedKey(prefix), '1', 'EX', revokedTtlSeconds).del(cacheKey(prefix)).exec();
}
