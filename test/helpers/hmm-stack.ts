import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { createHmmActivities } from '../../activities/hmm';
import { createApp } from '../../api/app';
import { createMetrics } from '../../api/metrics';
import { createLogger } from '../../lib/infra/logger';
import { stackSettings } from '../../scripts/stack/parts';
import { apiClient } from './http';
import { connectStack, stackWorker, type StackHandles } from './stack';
import { uniqueTaskQueue } from './time-skipping';

/**
 * What an HMM integration file sets up around its tests: the test stack's Postgres, Redis
 * and Temporal, a real worker running the real activities (local engine) on a task queue
 * of the file's own, the API in process, and a scratch folder; all stopped and removed
 * after the file. Read the fields inside hooks and tests.
 */
export function hmmTestFile() {
  const taskQueue = uniqueTaskQueue('it-hmm');
  let worker: Worker;
  let running: Promise<void>;
  let server: Server;
  const file = {
    stack: undefined as unknown as StackHandles,
    api: undefined as unknown as ReturnType<typeof apiClient>,
    apiUrl: '',
    taskQueue,
    dir: '',
  };
  beforeAll(async () => {
    const stack = (file.stack = await connectStack());
    const config = { ...stack.config, hmm: { ...stack.config.hmm, taskQueue } };
    worker = await stackWorker(stack, {
      taskQueue,
      activities: createHmmActivities({ ...stack.deps, config }),
      maxHeartbeatThrottleInterval: '1s',
    });
    running = worker.run();
    const app = createApp({
      config,
      client: stack.client,
      pool: stack.pool,
      redis: stack.redis,
      log: createLogger(config, 'test-api'),
      metrics: createMetrics(),
      version: 'test',
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    file.apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    file.api = apiClient(file.apiUrl);
    file.dir = mkdtempSync(join(stackSettings('test').dataDir, 'hmm-'));
  }, 120_000);
  afterAll(async () => {
    server?.close();
    worker?.shutdown();
    await running;
    await file.stack?.close();
    if (file.dir) rmSync(file.dir, { recursive: true, force: true });
  });
  return file;
}

/** A suffix for the symbols of a test run: two runs side by side (other slots) use different bars. */
export const symbolTag = `${process.pid % 100_000}`;
