import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { createApp } from '../../api/app';
import { createMetrics } from '../../api/metrics';
import type { Config } from '../../lib/infra/config';
import type { Pool } from '../../lib/infra/db';
import type { Redis } from '../../lib/infra/redis';
import { testSlot } from '../../scripts/stack/settings';
import { apiClient } from './http';
import type { StackHandles } from './stack';

/**
 * Ports of this TEST_STACK_SLOT for API servers a test runs in its own process
 * (20000 + 100 × slot + n), and one where nothing listens: a dependency that is down.
 */
const base = 20_000 + 100 * testSlot();
export const apiTestPorts = { first: base + 30, unused: base + 98 };

export interface TestApi {
  url: string;
  api: ReturnType<typeof apiClient>;
  close(): Promise<void>;
}

/** The real Express app on the stack's services, with configuration and dependencies the test may replace. */
export async function startTestApi(
  stack: StackHandles,
  port: number,
  over: {
    config?: Partial<Config>;
    client?: Client;
    pool?: Pool;
    redis?: Redis;
    headers?: Record<string, string>;
  } = {},
): Promise<TestApi> {
  const app = createApp({
    config: { ...stack.config, ...over.config },
    client: over.client ?? stack.client,
    pool: over.pool ?? stack.pool,
    redis: over.redis ?? stack.redis,
    log: stack.deps.log,
    metrics: createMetrics(),
    version: 'test',
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    api: apiClient(url, over.headers),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A test file's API servers on its own task queue, each on the next port from `firstPort`;
 * `closeAll` closes every one opened. `stack` is read at each open (set in beforeAll).
 */
export function testApis(stack: () => StackHandles, firstPort: number, taskQueue: string) {
  let port = firstPort;
  const opened: TestApi[] = [];
  return {
    async open(over: Parameters<typeof startTestApi>[2] = {}): Promise<TestApi> {
      const s = stack();
      const server = await startTestApi(s, port++, {
        ...over,
        config: { ...over.config, temporal: { ...s.config.temporal, taskQueue } },
      });
      opened.push(server);
      return server;
    },
    async closeAll(): Promise<void> {
      for (const server of opened) await server.close();
    },
  };
}
