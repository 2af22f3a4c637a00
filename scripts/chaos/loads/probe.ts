import type { ChaosLoad } from '../load';

/**
 * What a dashboard polling the API sees: a read of each kind every step, sent once and
 * never retried, so that every outage of the window shows in the answers the run holds
 * the API to (503 with Retry-After within the deadline, nothing else).
 */
const reads: [string, string][] = [
  ['GET /api/v1/orders/{id}', '/api/v1/orders/1'],
  ['GET /api/v1/workflows', '/api/v1/workflows?pageSize=5'],
  ['GET /api/v1/machines', '/api/v1/machines?limit=5'],
  ['GET /api/v1/rollouts', '/api/v1/rollouts?limit=5'],
  ['GET /api/v1/flags', '/api/v1/flags'],
  ['GET /api/v1/migrations', '/api/v1/migrations'],
];

export function probeLoad(): ChaosLoad {
  return {
    name: 'probe',
    async start() {},
    async step(ctx) {
      await Promise.all(reads.map(([route, path]) => ctx.api.call(route, 'GET', path).catch(() => undefined)));
    },
    async settle() {},
    async check() {
      return [];
    },
  };
}
