import { findApiKey } from '../../store/access/api-keys';
import { cacheKeyLookup, readCachedKey, type CachedKey } from '../../store/access/key-cache';
import { keySeal } from '../../store/access/key-seal';
import { defaultHashParams, hashSecret, newSalt, quickDigest, sameBytes, sameDigest } from '../../store/access/secrets';
import type { ApiContext } from '../context';
import { createFailedAuthLimiter, type FailureCharge } from './failed-auth';
import { createFailedSecrets } from './failed-secrets';

/**
 * Checks a presented `<prefix>.<secret>`. A key verified lately answers from the Redis
 * cache when its entry carries this API's MAC; anything else (a miss, a forged entry, a
 * wrong secret, a prefix with no row) takes the slow path, which is charged to the
 * failed-auth limits before the hash runs. Known and unknown prefixes cost one scrypt
 * each, so their timing tells nothing about which prefixes exist.
 */
export type Verdict =
  { kind: 'key'; key: CachedKey } | { kind: 'invalid' } | { kind: 'limited'; charge: FailureCharge };

/** Prefixes whose forged cache entry has been logged; bounded, so a flood of them cannot grow it. */
const maxForgedLogged = 1_000;

export function createKeyVerifier(
  ctx: ApiContext,
): (prefix: string, secret: string, address: string) => Promise<Verdict> {
  const secret = ctx.config.api.keyCacheSecret;
  const seal = secret ? keySeal(secret) : undefined;
  if (!seal)
    ctx.log.warn(
      'API_KEY_CACHE_SECRET is not set: verified keys are not cached, every request with a key is checked against Postgres',
    );
  const failures = createFailedAuthLimiter(ctx.redis, ctx.config.api.authFailures);
  const failed = createFailedSecrets();
  // Never matches a stored hash: it only makes an unknown prefix cost what a known one does.
  const dummySalt = newSalt();
  const forgedLogged = new Set<string>();
  const inFlight = new Map<string, Promise<Verdict>>();

  const cached = async (prefix: string, digest: string): Promise<CachedKey | undefined> => {
    if (!seal) return undefined;
    const read = await readCachedKey(ctx.redis, prefix, seal).catch(() => undefined);
    if (read?.forged && !forgedLogged.has(prefix) && forgedLogged.size < maxForgedLogged) {
      forgedLogged.add(prefix);
      ctx.log.warn({ prefix }, 'a cached key entry in Redis does not carry this API’s MAC: ignored, Postgres decides');
    }
    // A revoke marks the prefix: an entry cached just after it is stale, so Postgres decides.
    if (!read?.entry || read.revoked) return undefined;
    return sameDigest(read.entry.digest, digest) ? read.entry : undefined;
  };

  const slow = async (prefix: string, given: string, digest: string, address: string): Promise<Verdict> => {
    const charge = await failures.charge(address, prefix);
    if (!charge.allowed) return { kind: 'limited', charge };
    if (failed.has(digest)) return { kind: 'invalid' };
    let stored;
    try {
      stored = await findApiKey(ctx.pool, prefix);
    } catch (err) {
      // Postgres down is not the client's failure.
      await failures.refund(address, prefix);
      throw err;
    }
    const hash = await hashSecret(given, stored?.secretSalt ?? dummySalt, stored?.hashParams ?? defaultHashParams);
    if (!stored || !sameBytes(hash, stored.secretHash)) {
      failed.add(digest);
      return { kind: 'invalid' };
    }
    const key: CachedKey = {
      prefix,
      digest,
      scopes: stored.scopes,
      tier: stored.tier,
      expiresAt: stored.expiresAt,
      revokedAt: stored.revokedAt,
    };
    // A revoked or expired key is still refused, so it stays charged: holding one buys no hashing.
    const usable = !key.revokedAt && !(key.expiresAt && Date.parse(key.expiresAt) <= Date.now());
    if (usable) await failures.refund(address, prefix);
    if (!key.revokedAt && seal) await cacheKeyLookup(ctx.redis, key, seal).catch(() => undefined);
    return { kind: 'key', key };
  };

  return (prefix, given, address) => {
    const digest = quickDigest(prefix, given);
    // Requests with the same key at once share one verification (and one charge).
    let verdict = inFlight.get(digest);
    if (!verdict) {
      verdict = (async (): Promise<Verdict> => {
        const hit = await cached(prefix, digest);
        return hit ? { kind: 'key', key: hit } : slow(prefix, given, digest, address);
      })().finally(() => inFlight.delete(digest));
      inFlight.set(digest, verdict);
    }
    return verdict;
  };
}
