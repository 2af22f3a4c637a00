import type { Pool } from '../../lib/infra/db';
import type { Redis } from '../../lib/infra/redis';
import type { AccessUsageFlushResult } from '../../lib/access/contract';
import { addApiKeyUsage } from '../../store/access/api-keys';
import { dropUsageBatch, takeUsageBatch } from '../../store/access/usage';

export interface AccessDeps {
  pool: Pool;
  redis: Redis;
}

export function createAccessActivities({ pool, redis }: AccessDeps) {
  return {
    /**
     * Writes the usage counted in Redis since the last flush to `api_keys`. Safe to retry
     * at any point: the batch keeps its id in Redis until Postgres has it, and Postgres
     * records the ids it has added, so a batch is counted once.
     */
    async flushApiKeyUsage(): Promise<AccessUsageFlushResult> {
      let keys = 0;
      let requests = 0;
      // A batch left pending by a failed flush comes first, then the live counts.
      for (let i = 0; i < 2; i++) {
        const batch = await takeUsageBatch(redis);
        if (!batch) break;
        if (await addApiKeyUsage(pool, batch.batchId, batch.usage)) {
          keys += batch.usage.length;
          requests += batch.usage.reduce((sum, u) => sum + u.count, 0);
        }
        await dropUsageBatch(redis, batch.batchId);
      }
      return { keys, requests };
    },
  };
}

export type AccessActivities = ReturnType<typeof createAccessActivities>;
