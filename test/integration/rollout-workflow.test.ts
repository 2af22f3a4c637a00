import { recordHistory } from '../helpers/histories';
import { rolloutTestFile } from '../helpers/rollout-live';
import { waitUntil } from '../helpers/wait';
import { settled } from '../helpers/http';

/**
 * canaryRollout with the real activities, judged on Prometheus: HAProxy (the Debian package)
 * in front of a stable and a canary demo service under load, the stack's Prometheus scraping
 * them, Postgres for the records, started and controlled through the API
 * (test/helpers/rollout-live.ts).
 */
const file = rolloutTestFile();
const { run, haproxyWeight, spec, startRollout, until, callsFor } = file;

test('a healthy canary walks 20 → 50 → 100 % through HAProxy, judged on Prometheus, and is promoted', async () => {
  const target = `good-${run}`;
  const id = await startRollout(spec(target));
  const again = await file.api.post('/api/v1/rollouts', spec(target));
  expect(again.status).toBe(409);
  expect(again.body.detail).toMatch(new RegExp(`^a rollout of ${target} is already running \\(rollout-${target}: `));

  const handle = file.stack.client.workflow.getHandle(id);
  expect(await handle.result()).toEqual({ target, phase: 'promoted', weight: 100, attempt: 1 });
  expect(await haproxyWeight()).toBe(100);
  expect(callsFor(target)).toEqual([20, 50, 100]);

  const view = await file.api.get(`/api/v1/rollouts/${id}`);
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
  const listed = await file.api.get(`/api/v1/rollouts?target=${target}`);
  expect(listed.body.items).toEqual([expect.objectContaining({ workflowId: id, phase: 'promoted' })]);
  await recordHistory(handle, 'promoted');
}, 180_000);

test('a canary that starts failing at 50 % is aborted by analysis to 0 in one step, with an incident; retry goes again', async () => {
  const target = `bad-${run}`;
  const id = await startRollout(spec(target));
  try {
    await until(id, 'paused at 50 %', (st) => st.phase === 'paused' && st.weight === 50);
    await file.canary.setKnobs({ errorRate: 0.5 });
    const rolled = await until(id, 'aborted by analysis', (st) => st.phase === 'aborted' && st.weight === 0);
    expect(rolled).toMatchObject({ abortedBy: 'the background analysis' });
    expect(rolled.reason).toMatch(/^error-rate: 1 failed measurements/);
    expect(await haproxyWeight()).toBe(0);
    expect(callsFor(target)).toEqual([20, 50, 0]);
    // The status answers once the weight is 0; the records follow.
    let view = await file.api.get(`/api/v1/rollouts/${id}`);
    await waitUntil('the abort and its incident to be recorded', async () => {
      view = await file.api.get(`/api/v1/rollouts/${id}`);
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
    await file.canary.setKnobs({ errorRate: 0 });
    // The next measurements (of this rollout retried, of the next test's) must not see these errors.
    await waitUntil(
      'the canary errors to leave the metrics window',
      async () => (await file.promValue(`sum(increase(demo_requests_total{run="${run}",outcome="error"}[10s]))`)) === 0,
    );
  }
  const retried = await settled(file.api, await file.api.post(`/api/v1/rollouts/${id}/retry`));
  expect(retried.status).toBe(200);
  expect(retried.body).toMatchObject({ attempt: 2, weight: 20 });
  // Ends here: the HAProxy backend is shared by the rollouts that follow.
  const over = await settled(file.api, await file.api.post(`/api/v1/rollouts/${id}/abort`, { reason: 'test over' }));
  expect(over.body).toMatchObject({ weight: 0 });
  await recordHistory(file.stack.client.workflow.getHandle(id), 'aborted-by-analysis-retried');
}, 180_000);
