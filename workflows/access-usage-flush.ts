import { proxyActivities } from '@temporalio/workflow';
import type { AccessActivities } from '../activities/access';
import type { AccessUsageFlushResult } from '../lib/access/contract';

const { flushApiKeyUsage } = proxyActivities<AccessActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** Writes the API keys' usage batched in Redis to Postgres; started by its Schedule every few minutes. */
export async function accessUsageFlush(): Promise<AccessUsageFlushResult> {
  return flushApiKeyUsage();
}
