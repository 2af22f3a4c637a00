import { randomUUID } from 'node:crypto';
import type { Redis } from '../../lib/infra/redis';

/**
 * Key usage counted in Redis per request (one HINCRBY and one HSET, no Postgres write) and
 * taken in batches by the flush. Taking a batch renames the live hashes to a pending pair
 * with a batch id; a flush that failed leaves its batch pending, and the next flush writes
 * that one first, under the same id, so a batch is counted once however often it is retried.
 */
const live = { counts: 'access:usage:counts', lastUsed: 'access:usage:last-used' };
const pending = { counts: 'access:usage:pending:counts', lastUsed: 'access:usage:pending:last-used' };
const pendingBatch = 'access:usage:pending:batch';

export function countUse(redis: Redis, prefix: string, at: Date): Promise<unknown> {
  return redis.multi().hincrby(live.counts, prefix, 1).hset(live.lastUsed, prefix, at.toISOString()).exec();
}

const takeScript = `
if redis.call('EXISTS', KEYS[5]) == 1 then return redis.call('GET', KEYS[5]) end
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('RENAME', KEYS[1], KEYS[3])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[4]) end
redis.call('SET', KEYS[5], ARGV[1])
return ARGV[1]`;

export interface UsageBatch {
  batchId: string;
  usage: { prefix: string; count: number; lastUsedAt: Date }[];
}

/** The pending batch (a new one from the live counts when none is pending); undefined when there is nothing to write. */
export async function takeUsageBatch(redis: Redis): Promise<UsageBatch | undefined> {
  const batchId = (await redis.eval(
    takeScript,
    5,
    live.counts,
    live.lastUsed,
    pending.counts,
    pending.lastUsed,
    pendingBatch,
    randomUUID(),
  )) as string | null;
  if (!batchId) return undefined;
  const [counts, lastUsed] = await Promise.all([redis.hgetall(pending.counts), redis.hgetall(pending.lastUsed)]);
  const usage = Object.entries(counts).map(([prefix, count]) => ({
    prefix,
    count: Number(count),
    lastUsedAt: new Date(lastUsed[prefix] ?? Date.now()),
  }));
  return { batchId, usage };
}

/** Called once the batch is in Postgres. */
export async function dropUsageBatch(redis: Redis, batchId: string): Promise<void> {
  const current = await redis.get(pendingBatch);
  if (current !== batchId) return;
  await redis.del(pending.counts, pending.lastUsed, pendingBatch);
}
