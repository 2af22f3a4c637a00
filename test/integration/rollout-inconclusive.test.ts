import type { Worker } from '@temporalio/worker';
import { createRolloutActivities } from '../../activities/rollout';
import { createPrometheusProvider } from '../../activities/rollout/prometheus-provider';
import { rolloutStartOptions } from '../../lib/rollout/contract';
import { rolloutSpec } from '../../lib/rollout/spec';
import { recordHistory } from '../helpers/histories';
import { rolloutTestFile } from '../helpers/rollout-live';
import { rolloutPorts, startPrometheus, type PrometheusHandle } from '../helpers/rollout-services';
import { stackWorker } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * canaryRollout with the real activities when its metrics provider goes away: a Prometheus
 * of the test's own is killed mid-analysis (test/helpers/rollout-live.ts).
 */
const file = rolloutTestFile();
const { run, started, haproxyWeight, spec, until } = file;

describe('with a Prometheus that is stopped mid-analysis', () => {
  let prometheus: PrometheusHandle;
  let outageWorker: Worker;
  let outageRunning: Promise<void>;
  const outageQueue = uniqueTaskQueue('rollout-outage');

  beforeAll(async () => {
    // A Prometheus of this test's own, so that stopping it leaves the stack's alone.
    prometheus = await startPrometheus([`127.0.0.1:${rolloutPorts.stable}`, `127.0.0.1:${rolloutPorts.canary}`]);
    const activities = createRolloutActivities(file.stack.deps, {
      adapters: { prometheus: createPrometheusProvider({ baseUrl: prometheus.url, timeoutMs: 3000 }) },
    });
    outageWorker = await stackWorker(file.stack, { taskQueue: outageQueue, activities });
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
    const handle = await file.stack.client.workflow.start('canaryRollout', {
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
        await file.stack.pool.query(
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
