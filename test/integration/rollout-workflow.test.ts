import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Worker } from '@temporalio/worker';
import { createRolloutActivities, type WeightInput } from '../../activities/rollout';
import { createHaproxyController } from '../../activities/rollout/haproxy-controller';
import { createPrometheusProvider } from '../../activities/rollout/prometheus-provider';
import { createApp } from '../../api/app';
import { createMetrics } from '../../api/metrics';
import { rolloutStartOptions, status, type RolloutStatus } from '../../lib/rollout/contract';
import { rolloutSpec, type RolloutSpecInput } from '../../lib/rollout/spec';
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
import { recordHistory } from '../helpers/histories';
import { apiClient } from '../helpers/http';
import { projectRoot } from '../helpers/paths';
import { rolloutPorts, startPrometheus, type PrometheusHandle } from '../helpers/rollout-services';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * canaryRollout with the real activities: HAProxy (the Debian package) in front of a stable
 * and a canary demo service under load, the stack's Prometheus scraping them, Postgres for
 * the records, started and controlled through the API and the Temporal CLI.
 */
const s = stackSettings('test');
const run = `it-${Date.now().toString(36)}`;
let stack: StackHandles;
let stable: DemoService;
let canary: DemoService;
let haproxy: Awaited<ReturnType<typeof startHaproxy>>;
let load: ReturnType<typeof startLoad>;
let server: Server;
let api: ReturnType<typeof apiClient>;
let worker: Worker;
let running: Promise<void>;
const taskQueue = uniqueTaskQueue('rollout-it');
/** Every weight the workflow asked the router for, in order, by target. */
const weightCalls: WeightInput[] = [];
const started: string[] = [];

beforeAll(async () => {
  stack = await connectStack();
  stable = await startDemoService(s, { version: 'stable', port: rolloutPorts.stable, name: 'it-stable' });
  canary = await startDemoService(s, { version: 'canary', port: rolloutPorts.canary, name: 'it-canary' });
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
  api = apiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);

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
  await waitUntil('Prometheus to scrape both demo services', async () => {
    const q = encodeURIComponent(`count(demo_requests_total{run="${run}"})`);
    const res = await fetch(`${stack.config.rollout.prometheusUrl}/api/v1/query?query=${q}`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    return Number(body.data.result[0]?.value[1] ?? 0) >= 4;
  });
}, 180_000);

afterAll(async () => {
  for (const id of started) {
    await stack.client.workflow
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
  await Promise.all([stable?.stop(), canary?.stop()]);
  await stack?.close();
}, 60_000);

const haproxyWeight = () =>
  createHaproxyController({
    socketPath: haproxy.socketPath,
    backend: 'app',
    canaryServer: 'canary',
    stableServer: 'stable',
  }).getWeight();

const errorRate = `sum(rate(demo_requests_total{version="{{variant}}",run="${run}",outcome="error"}[{{window}}])) / sum(rate(demo_requests_total{version="{{variant}}",run="${run}"}[{{window}}]))`;

const spec = (target: string, extra: Partial<RolloutSpecInput> = {}): RolloutSpecInput => ({
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
});

async function startRollout(body: RolloutSpecInput): Promise<string> {
  const res = await api.post('/api/v1/rollouts', body);
  expect(res.status).toBe(201);
  started.push(res.body.id);
  return res.body.id as string;
}

const statusOf = (id: string) => stack.client.workflow.getHandle(id).query(status);
async function until(id: string, what: string, pred: (s: RolloutStatus) => boolean, timeoutMs = 90_000) {
  let last: RolloutStatus | undefined;
  await waitUntil(
    `${id} to be ${what}`,
    async () => {
      last = await statusOf(id);
      return pred(last);
    },
    { timeoutMs },
  );
  return last as RolloutStatus;
}
const callsFor = (target: string) => weightCalls.filter((c) => c.target === target).map((c) => c.weight);

test('a healthy canary walks 20 → 50 → 100 % through HAProxy, judged on Prometheus, and is promoted', async () => {
  const target = `good-${run}`;
  const id = await startRollout(spec(target));
  const again = await api.post('/api/v1/rollouts', spec(target));
  expect(again.status).toBe(409);
  expect(again.body.detail).toMatch(new RegExp(`^a rollout of ${target} is already running \\(rollout-${target}: `));

  const handle = stack.client.workflow.getHandle(id);
  expect(await handle.result()).toEqual({ target, phase: 'promoted', weight: 100, attempt: 1 });
  expect(await haproxyWeight()).toBe(100);
  expect(callsFor(target)).toEqual([20, 50, 100]);

  const view = await api.get(`/api/v1/rollouts/${id}`);
  expect(view.status).toBe(200);
  expect(view.body.record).toMatchObject({ phase: 'promoted', weight: 100, finishedAt: expect.any(String) });
  expect(
    view.body.transitions.map(
      (t: { action: string; toPhase: string; weight: number }) => `${t.action}:${t.toPhase}@${t.weight}`,
    ),
  ).toEqual([
    'start:progressing@20',
    'step:paused@20',
    'step:progressing@50',
    'step:paused@50',
    'step:progressing@100',
    'step:watching@100',
    'watchEnded:promoted@100',
  ]);
  const verdicts = view.body.measurements.map((m: { verdict: string }) => m.verdict);
  expect(verdicts).toContain('pass');
  expect(verdicts).not.toContain('fail');
  const listed = await api.get(`/api/v1/rollouts?target=${target}`);
  expect(listed.body.items).toEqual([expect.objectContaining({ workflowId: id, phase: 'promoted' })]);
  await recordHistory(handle, 'promoted');
}, 180_000);

test('a canary that starts failing at 50 % is aborted by analysis to 0 in one step, with an incident; retry goes again', async () => {
  const target = `bad-${run}`;
  const id = await startRollout(spec(target));
  try {
    await until(id, 'paused at 50 %', (st) => st.phase === 'paused' && st.weight === 50);
    await canary.setKnobs({ errorRate: 0.5 });
    const rolled = await until(id, 'aborted by analysis', (st) => st.phase === 'aborted' && st.weight === 0);
    expect(rolled).toMatchObject({ abortedBy: 'the background analysis' });
    expect(rolled.reason).toMatch(/^error-rate: 1 failed measurements/);
    expect(await haproxyWeight()).toBe(0);
    expect(callsFor(target)).toEqual([20, 50, 0]);
    // The status answers once the weight is 0; the records follow.
    let view = await api.get(`/api/v1/rollouts/${id}`);
    await waitUntil('the abort and its incident to be recorded', async () => {
      view = await api.get(`/api/v1/rollouts/${id}`);
      return view.body.incidents.length > 0;
    });
    expect(view.body.incidents).toEqual([
      expect.objectContaining({
        kind: 'rollback',
        reason: expect.stringMatching(/^aborted by the background analysis: error-rate: 1 failed measurements/),
        weightBefore: 50,
        failing: [expect.objectContaining({ metric: 'error-rate', outcome: 'fail' })],
        lastVerdicts: [expect.objectContaining({ metric: 'error-rate', verdict: 'fail' })],
      }),
    ]);
    expect(view.body.transitions.at(-1)).toMatchObject({
      action: 'rollback',
      fromPhase: 'paused',
      toPhase: 'aborted',
      weight: 0,
    });
  } finally {
    await canary.setKnobs({ errorRate: 0 });
    // The next measurements (of this rollout retried, of the next test's) must not see these errors.
    await waitUntil('the canary errors to leave the metrics window', async () => {
      const q = encodeURIComponent(`sum(increase(demo_requests_total{run="${run}",outcome="error"}[10s]))`);
      const res = await fetch(`${stack.config.rollout.prometheusUrl}/api/v1/query?query=${q}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      return Number(body.data.result[0]?.value[1] ?? NaN) === 0;
    });
  }
  const retried = await api.post(`/api/v1/rollouts/${id}/retry`);
  expect(retried.status).toBe(200);
  expect(retried.body).toMatchObject({ attempt: 2, weight: 20 });
  // Ends here: the next tests share the HAProxy backend.
  expect((await api.post(`/api/v1/rollouts/${id}/abort`, { reason: 'test over' })).body).toMatchObject({ weight: 0 });
  await recordHistory(stack.client.workflow.getHandle(id), 'aborted-by-analysis-retried');
}, 180_000);

/** `temporal workflow update execute` of one update with its inputs (JSON), as an operator types it. */
const updateByCli = (id: string, update: string, ...inputs: string[]) =>
  promisify(execFile)(join(projectRoot, '.venv', 'bin', 'temporal'), [
    ...['workflow', 'update', 'execute', '--workflow-id', id, '--name', update, '--output', 'json'],
    ...inputs.flatMap((input) => ['--input', input]),
    ...['--address', stack.config.temporal.address],
  ]);

test('abort through the API and through the Temporal CLI each take the weight to 0 in one step', async () => {
  const target = `abort-${run}`;
  const id = await startRollout(spec(target));
  await until(id, 'paused at 50 %', (st) => st.phase === 'paused' && st.weight === 50);
  const before = callsFor(target).length;
  const aborted = await api.post(
    `/api/v1/rollouts/${id}/abort`,
    { reason: 'checkout errors reported by support' },
    { 'x-requested-by': 'support-desk' },
  );
  expect(aborted.status).toBe(200);
  expect(aborted.body).toMatchObject({
    phase: 'aborted',
    weight: 0,
    reason: 'checkout errors reported by support',
    abortedBy: 'support-desk',
  });
  expect(await haproxyWeight()).toBe(0);
  expect(callsFor(target).slice(before)).toEqual([0]);
  const refused = await api.post(`/api/v1/rollouts/${id}/abort`, { reason: 'again' });
  expect(refused.status).toBe(409);
  expect(refused.body.detail).toMatch(
    /^abort refused: the rollout is already aborted by support-desk: checkout errors/,
  );

  expect((await api.post(`/api/v1/rollouts/${id}/retry`)).status).toBe(200);
  await until(id, 'paused at 50 % again', (st) => st.attempt === 2 && st.phase === 'paused' && st.weight === 50);
  const beforeCli = callsFor(target).length;
  const cli = await updateByCli(id, 'abort', '"p95 regressed (from the CLI)"', '"carol"');
  expect(JSON.parse(cli.stdout)).toMatchObject({ name: 'abort', result: { phase: 'aborted', weight: 0 } });
  expect(await haproxyWeight()).toBe(0);
  expect(callsFor(target).slice(beforeCli)).toEqual([0]);
  expect(await statusOf(id)).toMatchObject({
    phase: 'aborted',
    weight: 0,
    reason: 'p95 regressed (from the CLI)',
    abortedBy: 'carol',
    attempt: 2,
  });
  const cliRefused = await updateByCli(id, 'approve').catch((err: { stderr: string }) => err);
  expect((cliRefused as { stderr: string }).stderr).toContain('approve refused: approve applies only at a manual gate');

  const { body } = await api.get(`/api/v1/rollouts/${id}`);
  const aborts = body.transitions.filter((t: { action: string }) => t.action === 'abort');
  expect(aborts.map((t: { fromPhase: string; weight: number }) => [t.fromPhase, t.weight])).toEqual([
    ['paused', 0],
    ['paused', 0],
  ]);
  expect(body.incidents.map((i: { kind: string; weightBefore: number }) => [i.kind, i.weightBefore])).toEqual([
    ['abort', 50],
    ['abort', 50],
  ]);
  expect(body.incidents.map((i: { reason: string }) => i.reason)).toEqual([
    'aborted by support-desk: checkout errors reported by support',
    'aborted by carol: p95 regressed (from the CLI)',
  ]);
  await recordHistory(stack.client.workflow.getHandle(id), 'aborted-api-and-cli');
}, 180_000);

describe('with a Prometheus that is stopped mid-analysis', () => {
  let prometheus: PrometheusHandle;
  let outageWorker: Worker;
  let outageRunning: Promise<void>;
  const outageQueue = uniqueTaskQueue('rollout-outage');

  beforeAll(async () => {
    // A Prometheus of this test's own, so that stopping it leaves the stack's alone.
    prometheus = await startPrometheus([`127.0.0.1:${rolloutPorts.stable}`, `127.0.0.1:${rolloutPorts.canary}`]);
    const activities = createRolloutActivities(stack.deps, {
      adapters: { prometheus: createPrometheusProvider({ baseUrl: prometheus.url, timeoutMs: 3000 }) },
    });
    outageWorker = await stackWorker(stack, { taskQueue: outageQueue, activities });
    outageRunning = outageWorker.run();
  }, 90_000);
  afterAll(async () => {
    outageWorker?.shutdown();
    await outageRunning;
    await prometheus?.stop();
  });

  test('the analysis turns inconclusive and the rollout holds its weight, paused: never promoted', async () => {
    const target = `outage-${run}`;
    const query =
      'sum(rate(demo_requests_total{version="{{variant}}",outcome="error"}[{{window}}])) / sum(rate(demo_requests_total{version="{{variant}}"}[{{window}}]))';
    const parsed = rolloutSpec.parse(
      spec(target, {
        steps: [{ setWeight: 20 }, { analysis: { templates: ['gate'] } }, { setWeight: 100 }],
        templates: [
          {
            name: 'gate',
            metrics: [
              {
                name: 'error-rate',
                provider: { type: 'prometheus', query },
                interval: '2s',
                window: '6s',
                count: 30,
                successCondition: { max: 0.05 },
                consecutiveErrorLimit: 1,
                inconclusiveLimit: 5,
              },
            ],
          },
        ],
        backgroundAnalysis: null,
      }),
    );
    const handle = await stack.client.workflow.start('canaryRollout', {
      taskQueue: outageQueue,
      ...rolloutStartOptions(parsed, 'test'),
    });
    started.push(handle.workflowId);
    await until(
      handle.workflowId,
      'analysing with a passed measurement',
      (st) => st.phase === 'analysing' && (st.analysis?.metrics[0]?.passed ?? 0) >= 1,
    );
    process.kill(prometheus.pid()!, 'SIGKILL');
    const held = await until(handle.workflowId, 'held as inconclusive', (st) => st.pause?.kind === 'inconclusive');
    expect(held).toMatchObject({ phase: 'paused', weight: 20 });
    expect(held.pause).toMatchObject({
      reason: expect.stringMatching(
        /^analysis at step 2 inconclusive: error-rate: 2 provider errors in a row, more than consecutiveErrorLimit 1 \(last: .*ECONNREFUSED/,
      ),
    });
    expect(held.details).toMatch(/^paused: inconclusive at weight 20 %/);
    expect(await haproxyWeight()).toBe(20);
    const events = async () =>
      (
        await stack.pool.query(
          `SELECT to_phase, verdict, detail->>'unjudged' AS unjudged FROM rollout_events WHERE rollout_id = $1 ORDER BY seq`,
          [handle.firstExecutionRunId],
        )
      ).rows;
    // The status answers as soon as the hold is made; its record follows.
    await waitUntil('the hold to be recorded', async () => (await events()).some((r) => r.to_phase === 'paused'));
    const rows = await events();
    expect(rows.filter((r) => r.to_phase).map((r) => r.to_phase)).toEqual(['progressing', 'analysing', 'paused']);
    expect(rows.filter((r) => r.verdict).slice(-2)).toEqual([
      { to_phase: null, verdict: 'inconclusive', unjudged: 'error' },
      { to_phase: null, verdict: 'inconclusive', unjudged: 'error' },
    ]);
    await recordHistory(handle, 'inconclusive-hold');
  }, 180_000);
});
