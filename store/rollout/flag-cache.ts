import type { Redis } from 'ioredis';
import type { FlagRecord } from '../../lib/rollout/bucketing';
import { flagChangesChannel, readFlag } from './flags';

export interface FlagCache {
  get(key: string): Promise<FlagRecord | undefined>;
  close(): Promise<void>;
}

/**
 * Flags as the evaluation endpoint reads them: apps call it on every request, so a copy is
 * kept in memory and dropped when a write publishes the flag's key (an abort's weight 0
 * reaches evaluations within the publish's delivery, milliseconds). The copy is trusted
 * only while the subscription is up, and for at most `maxAgeMs` in any case; a read that
 * raced a change is not cached.
 */
export function createFlagCache(redis: Redis, opts: { maxAgeMs?: number } = {}): FlagCache {
  const maxAgeMs = opts.maxAgeMs ?? 1000;
  const entries = new Map<string, { flag: FlagRecord | undefined; at: number }>();
  const generation = new Map<string, number>();
  const subscriber = redis.duplicate();
  let subscribed = false;
  const forgetAll = () => {
    subscribed = false;
    entries.clear();
  };
  subscriber.on('message', (_channel: string, key: string) => {
    generation.set(key, (generation.get(key) ?? 0) + 1);
    entries.delete(key);
  });
  subscriber.on('close', forgetAll);
  subscriber.on('error', () => undefined); // reported by the main connection; the cache is bypassed meanwhile
  subscriber.on('ready', () => {
    subscriber.subscribe(flagChangesChannel).then(
      () => (subscribed = true),
      () => forgetAll(),
    );
  });

  return {
    async get(key) {
      const hit = entries.get(key);
      if (subscribed && hit && Date.now() - hit.at < maxAgeMs) return hit.flag;
      const before = generation.get(key) ?? 0;
      const flag = await readFlag(redis, key);
      if (subscribed && (generation.get(key) ?? 0) === before) entries.set(key, { flag, at: Date.now() });
      return flag;
    },
    async close() {
      forgetAll();
      await subscriber.quit().catch(() => undefined);
    },
  };
}
