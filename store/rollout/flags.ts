import type { Redis } from 'ioredis';
import { AppError } from '../../lib/errors';
import { flagRecord, type FlagRecord } from '../../lib/rollout/bucketing';

/**
 * Feature flags kept in Redis, one hash per flag (`rollout:flag:<key>`: weight, groups as
 * JSON, killSwitch 0/1, updatedAt) and a set of keys, so that an evaluation is one HGETALL.
 */

const flagKey = (key: string) => `rollout:flag:${key}`;
const indexKey = 'rollout:flags';
/** Every write publishes the flag's key here, in its transaction: caches drop their copy at once. */
export const flagChangesChannel = 'rollout:flags:changed';

export async function readFlag(redis: Redis, key: string): Promise<FlagRecord | undefined> {
  const hash = await redis.hgetall(flagKey(key));
  if (Object.keys(hash).length === 0) return undefined;
  return parseFlag(key, hash);
}

export function parseFlag(key: string, hash: Record<string, string>): FlagRecord {
  let groups: unknown;
  try {
    groups = JSON.parse(hash.groups ?? '[]');
  } catch {
    groups = undefined;
  }
  const parsed = flagRecord.safeParse({
    key,
    weight: Number(hash.weight ?? 0),
    groups,
    killSwitch: hash.killSwitch === '1',
  });
  if (!parsed.success) {
    throw new AppError(
      'Internal',
      `flag ${key} in Redis is malformed: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  }
  return parsed.data;
}

/** Writes the whole record in one transaction; writing the same record twice changes nothing but updatedAt. */
export async function writeFlag(redis: Redis, flag: FlagRecord, now = Date.now()): Promise<void> {
  await redis
    .multi()
    .hset(flagKey(flag.key), {
      weight: String(flag.weight),
      groups: JSON.stringify(flag.groups),
      killSwitch: flag.killSwitch ? '1' : '0',
      updatedAt: String(now),
    })
    .sadd(indexKey, flag.key)
    .publish(flagChangesChannel, flag.key)
    .exec();
}

/**
 * Sets only the weight, keeping groups and kill switch as a person set them; a missing flag
 * is created without groups. Idempotent: the same weight twice is the same state.
 */
export async function setFlagWeight(redis: Redis, key: string, weight: number, now = Date.now()): Promise<void> {
  const k = flagKey(key);
  const results = await redis
    .multi()
    .hset(k, { weight: String(weight), updatedAt: String(now) })
    .hsetnx(k, 'groups', '[]')
    .hsetnx(k, 'killSwitch', '0')
    .sadd(indexKey, key)
    .publish(flagChangesChannel, key)
    .exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed)
    throw new AppError('Unavailable', `could not set flag ${key}: ${failed?.[0]?.message ?? 'transaction aborted'}`);
}

export async function listFlags(redis: Redis): Promise<FlagRecord[]> {
  const keys = (await redis.smembers(indexKey)).sort();
  const flags = await Promise.all(keys.map((k) => readFlag(redis, k)));
  return flags.filter((f): f is FlagRecord => f !== undefined);
}
