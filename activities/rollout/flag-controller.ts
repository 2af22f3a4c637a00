import type { Redis } from 'ioredis';
import { readFlag, setFlagWeight } from '../../store/rollout/flags';
import type { TrafficController } from './types';

/** Traffic through a feature flag in Redis: the canary's weight is the flag's percentage. */
export function createFlagController(redis: Redis, flag: string): TrafficController {
  return {
    setWeight: (weight) => setFlagWeight(redis, flag, weight),
    // No flag yet means nobody is routed to the canary.
    getWeight: async () => (await readFlag(redis, flag))?.weight ?? 0,
  };
}
