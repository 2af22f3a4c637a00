import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { createRolloutActivities, type WeightInput } from '../../activities/rollout';
import { createHaproxyController } from '../../activities/rollout/haproxy-controller';
import { createApp } from '../../api/app';
import { createMetrics } from '../../api/metrics';
import { status, type RolloutStatus } from '../../lib/rollout/contract';
import type { RolloutSpecInput } from '../../lib/rollout/spec';
import {
  startDemoService,
  startLoad,
  writeScrapeTargets,
  removeScrapeTargets,
} from '../../scripts/rollout/demo-services';
import type { DemoService } from '../../scripts/rollout/demo-services';
import { haproxySocketPath, startHaproxy } from '../../scripts/stack/haproxy';
import { stackSettings } from '../../scripts/stack/parts';
import { prometheusTargetsDir } from '../../scripts/stack/prometheus';
import { apiClient } from './http';
import { rolloutPorts } from './rollout-services';
import { connectStack, stackWorker, type StackHandles } from './stack';
import { uniqueTaskQueue } from './time-skipping';
import { waitUntil } from './wait';

/**
 * What a file of canaryRollout tests with the real activities sets up around its tests:
 * HAProxy (the Debian package) in front of a stable and a canary demo service under load,
 * the stack's Prometheus scraping them, the API in process and a worker on a task queue of
 * the file's own that records every weight the workflow asked the router for. After the
 * file, its rollouts are terminated and everything it started is stopped. Read `stack`,
 * `api` and `canary` inside hooks and tests.
 */
export function rolloutTestFile() {
  const s = stackSettings('test');
  const run = `it-${Date.now().toString(36)}`;
  const taskQueue = uniqueTaskQueue('rollout-it');
  /** Every weight the workflow asked the router for, in order, by target. */
  const weightCalls: WeightInput[] = [];
  const started: string[] = [];
  let stable: DemoService;
  let haproxy: Awaited<ReturnType<typeof startHaproxy>>;
  let load: ReturnType<typeof startLoad>;
  let server: Server;
  let worker: Worker;
  let running: Promise<void>;
  const errorRate = `sum(rate(demo_requests_total{version="{{variant}}",run="${run}",outcome="error"}[{{window}}])) / sum(rate(demo_requests_total{version="{{variant}}",run="${run}"}[{{window}}]))`;

  const file = {
    stack: undefined as unknown as StackHandles,
    api: undefined as unknown as ReturnType<typeof apiClient>,
    canary: undefined as unknown as DemoService,
    /** This file's label on the demo services' metrics, and the suffix of its targets. */
    run,
    /** The ids of the rollouts this file started, terminated after it. */
    started,
    haproxyWeight: () =>
      createHaproxyController({
        socketPath: haproxy.socketPath,
        backend: 'app',
        canaryServer: 'canary',
        stableServer: 'stable',
      }).getWeight(),
    spec: (target: string, extra: Partial<RolloutSpecInput> = {}): RolloutSpecInput => ({
      target,
      traffic: { controller: 'haproxy', backend: 'app' },
      steps: [
        { setWeight: 20 },
        { pause: { duration: '8s' } },
        { setWeight: 50 },
        { pause: { duration: '8s' } },
        { setWeight: 100 },
      ],
      templates: [
        {
          name: 'default',
          metrics: [
            {
              name: 'error-rate',
              provider: { type: 'prometheus', query: errorRate },
              interval: '2s',
              window: '6s',
              successCondition: { max: 0.05 },
              relative: { maxIncrease: 0.5, minDelta: 0.01 },
              inconclusiveLimit: 3,
            },
          ],
        },
      ],
      rollbackWindow: '6s',
      ...extra,
    }),
    async startRollout(body: RolloutSpecInput): Promise<string> {
      const res = await file.api.post('/api/v1/rollouts', body);
      expect(res.status).toBe(201);
      started.push(res.body.id);
      return res.body.id as string;
    },
    statusOf: (id: string) => file.stack.client.workflow.getHandle(id).query(status),
    async until(id: string, what: string, pred: (s: RolloutStatus) => boolean, timeoutMs = 90_000) {
      let last: RolloutStatus | undefined;
      await waitUntil(
        `${id} to be ${what}`,
        async () => {
          last = await file.statusOf(id);
          return pred(last);
        },
        { timeoutMs },
      );
      return last as RolloutStatus;
    },
    callsFor: (target: string) => weightCalls.filter((c) => c.target === target).map((c) => c.weight),
    /** The value of a Prometheus query over this file's demo services (NaN when it has none). */
    async promValue(query: string): Promise<number> {
      const q = encodeURIComponent(query);
      const res = await fetch(`${file.stack.config.rollout.prometheusUrl}/api/v1/query?query=${q}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      return Number(body.data.result[0]?.value[1] ?? NaN);
    },
  };

  beforeAll(async () => {
    const stack = (file.stack = await connectStack());
    stable = await startDemoService(s, { version: 'stable', port: rolloutPorts.stable, name: 'it-stable' });
    file.canary = await startDemoService(s, { version: 'canary', port: rolloutPorts.canary, name: 'it-canary' });
    haproxy = await startHaproxy(s, {
      dir: dirname(haproxySocketPath(s)),
      frontendPort: rolloutPorts.haproxy,
      stablePort: rolloutPorts.stable,
      canaryPort: rolloutPorts.canary,
    });
    writeScrapeTargets(prometheusTargetsDir(s), run, [
      { address: `127.0.0.1:${rolloutPorts.stable}`, labels: { run } },
      { address: `127.0.0.1:${rolloutPorts.canary}`, labels: { run } },
    ]);
    load = startLoad(haproxy.url, { rate: 40, concurrency: 8 });

    const config = { ...stack.config, temporal: { ...stack.config.temporal, taskQueue } };
    const app = createApp({ ...stack, config, log: stack.deps.log, metrics: createMetrics(), version: 'test' });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    file.api = apiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);

    const real = createRolloutActivities(stack.deps);
    worker = await stackWorker(stack, {
      taskQueue,
      activities: {
        async setRolloutWeight(input: WeightInput) {
          weightCalls.push(input);
          await real.setRolloutWeight(input);
        },
      },
    });
    running = worker.run();
    await waitUntil(
      'Prometheus to scrape both demo services',
      async () => ((await file.promValue(`count(demo_requests_total{run="${run}"})`)) || 0) >= 4,
    );
  }, 180_000);

  afterAll(async () => {
    for (const id of started) {
      await file.stack.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    }
    worker?.shutdown();
    await running;
    await load?.stop();
    removeScrapeTargets(prometheusTargetsDir(s), run);
    await new Promise((r) => server?.close(r));
    await haproxy?.stop();
    await Promise.all([stable?.stop(), file.canary?.stop()]);
    await file.stack?.close();
  }, 60_000);

  return file;
}
