import { z } from 'zod';
import { every } from './shared';

/**
 * The API keys' usage: counted in Redis by the API on every request, written to Postgres
 * by a Schedule the orchestrator worker applies, so this section is the worker's to read.
 */
export const accessEnv = z.object({
  // How often the keys' usage counted in Redis is written to Postgres; `off` leaves the schedule alone.
  ACCESS_USAGE_FLUSH_EVERY: every.default('5m'),
});

export interface AccessConfig {
  access: { usageFlushEvery: string };
}

export function accessConfig(e: z.infer<typeof accessEnv>): AccessConfig {
  return { access: { usageFlushEvery: e.ACCESS_USAGE_FLUSH_EVERY } };
}
