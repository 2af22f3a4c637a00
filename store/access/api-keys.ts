import { releaseClient, type Pool } from '../../lib/infra/db';
import type { Redis } from '../../lib/infra/redis';
import type { Grant, Tier } from '../../lib/access/keys';
import { dropCachedKey } from './key-cache';
import { defaultHashParams, hashSecret, newPrefix, newSalt, newSecret, type HashParams } from './secrets';
import { iso } from '../rows';

/** The one module that owns the queries of `api_keys`. */

export interface ApiKeyRecord {
  prefix: string;
  name: string;
  scopes: Grant[];
  tier: Tier;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  usageCount: number;
  revokedAt: string | null;
}

/** What verification needs besides the record: never leaves the server. */
export interface StoredKey extends ApiKeyRecord {
  secretHash: Buffer;
  secretSalt: Buffer;
  hashParams: HashParams;
}

function fromRow(r: Record<string, unknown>): StoredKey {
  return {
    prefix: r.prefix as string,
    name: r.name as string,
    scopes: r.scopes as Grant[],
    tier: r.tier as Tier,
    createdAt: iso(r.created_at) as string,
    expiresAt: iso(r.expires_at),
    lastUsedAt: iso(r.last_used_at),
    usageCount: Number(r.usage_count),
    revokedAt: iso(r.revoked_at),
    secretHash: r.secret_hash as Buffer,
    secretSalt: r.secret_salt as Buffer,
    hashParams: r.hash_params as HashParams,
  };
}

export function publicRecord(k: StoredKey): ApiKeyRecord {
  const { secretHash: _h, secretSalt: _s, hashParams: _p, ...rest } = k;
  return rest;
}

export interface NewKey {
  name: string;
  scopes: Grant[];
  tier: Tier;
  expiresAt?: Date;
}

/** Creates a key; the returned `key` is the only time the secret exists outside its holder. */
export async function createApiKey(pool: Pool, input: NewKey): Promise<{ key: string; record: ApiKeyRecord }> {
  const prefix = newPrefix();
  const secret = newSecret();
  const salt = newSalt();
  const hash = await hashSecret(secret, salt, defaultHashParams);
  const { rows } = await pool.query(
    `INSERT INTO api_keys (prefix, secret_hash, secret_salt, hash_params, name, scopes, tier, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [prefix, hash, salt, defaultHashParams, input.name, input.scopes, input.tier, input.expiresAt ?? null],
  );
  return { key: `${prefix}.${secret}`, record: publicRecord(fromRow(rows[0])) };
}

export async function findApiKey(pool: Pool, prefix: string): Promise<StoredKey | undefined> {
  const { rows } = await pool.query('SELECT * FROM api_keys WHERE prefix = $1', [prefix]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function listApiKeys(pool: Pool): Promise<ApiKeyRecord[]> {
  const { rows } = await pool.query('SELECT * FROM api_keys ORDER BY created_at, id');
  return rows.map((r) => publicRecord(fromRow(r)));
}

/** Whether any key was ever made: until one is, the API serves loopback only, without keys. */
export async function anyApiKey(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query('SELECT EXISTS (SELECT 1 FROM api_keys) AS any');
  return rows[0].any === true;
}

/**
 * Revokes a key in the table, then drops its cached lookup, which every API instance
 * reads: the next request with it is refused everywhere. Undefined when no key has the prefix.
 */
export async function revokeApiKey(pool: Pool, redis: Redis, prefix: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await pool.query(
    'UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE prefix = $1 RETURNING *',
    [prefix],
  );
  await dropCachedKey(redis, prefix);
  return rows[0] ? publicRecord(fromRow(rows[0])) : undefined;
}

/** A new key with the same name, scopes, tier and expiry; the old one is revoked in the same step. */
export async function rotateApiKey(
  pool: Pool,
  redis: Redis,
  prefix: string,
): Promise<{ key: string; record: ApiKeyRecord } | undefined> {
  const old = await findApiKey(pool, prefix);
  if (!old) return undefined;
  const created = await createApiKey(pool, {
    name: old.name,
    scopes: old.scopes,
    tier: old.tier,
    expiresAt: old.expiresAt ? new Date(old.expiresAt) : undefined,
  });
  await revokeApiKey(pool, redis, prefix);
  return created;
}

/** Adds a flushed batch of usage; false when this batch was written before (a retried flush). */
export async function addApiKeyUsage(
  pool: Pool,
  batchId: string,
  usage: { prefix: string; count: number; lastUsedAt: Date }[],
): Promise<boolean> {
  const client = await pool.connect();
  let failure: unknown;
  try {
    await client.query('BEGIN');
    const { rowCount } = await client.query(
      'INSERT INTO api_key_usage_flushes (batch_id) VALUES ($1) ON CONFLICT DO NOTHING',
      [batchId],
    );
    if (rowCount === 0) {
      await client.query('ROLLBACK');
      return false;
    }
    if (usage.length > 0) {
      await client.query(
        `UPDATE api_keys k
            SET usage_count = k.usage_count + u.count,
                last_used_at = greatest(k.last_used_at, u.last_used_at)
           FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS u(prefix, count, last_used_at)
          WHERE k.prefix = u.prefix`,
        [usage.map((u) => u.prefix), usage.map((u) => u.count), usage.map((u) => u.lastUsedAt)],
      );
    }
    await client.query('COMMIT');
    return true;
  } catch (err) {
    failure = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    releaseClient(client, failure);
  }
}
