import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { promote, retry } from '../../lib/rollout/contract';
import { fakeRollout, metric, start, stop, end, statusOf, untilPhase, type Answer } from '../helpers/rollout-workflow';
import { timeSkippingEnv } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/** canaryRollout's analyses: inconclusive holds, failures that abort it (the watch included), and continue-as-new. */

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(() => env?.teardown());

test('an inconclusive step analysis holds the weight, paused, until a person promotes: never promoted by itself', async () => {
  let answer: Answer = 'inconclusive';
  const fake = fakeRollout((m) => (m.analysis === 'step' ? answer : 'pass'));
  const w = await start(env, fake, {
    templates: [
      { name: 'default', metrics: [metric('error-rate')] },
      { name: 'gate', metrics: [metric('p95', { count: 3, interval: '30s', inconclusiveLimit: 1 })] },
    ],
    steps: [{ setWeight: 30 }, { analysis: { templates: ['gate'] } }, { setWeight: 70 }],
  });
  try {
    await env.sleep('5m');
    const held = await untilPhase(w.handle, 'paused', (s) => s.pause?.kind === 'inconclusive');
    expect(held.weight).toBe(30);
    expect(held.details).toMatch(
      /^paused: inconclusive at weight 30 %, step 2 of 3 \(analysis gate\): analysis at step 2 inconclusive: p95: 2 inconclusive measurements, more than inconclusiveLimit 1/,
    );
    expect(held.analysis).toMatchObject({ outcome: 'inconclusive', blocking: [{ metric: 'p95', inconclusive: 2 }] });
    await env.sleep('2h');
    expect(await statusOf(w.handle)).toMatchObject({ phase: 'paused', weight: 30 });
    expect(fake.weights).toEqual([30]);
    expect(fake.measured.filter((m) => m.analysis === 'step')).toHaveLength(2);
    // A person decides: promote passes the held step.
    answer = 'pass';
    expect((await w.handle.executeUpdate(promote)).stepIndex).toBeGreaterThanOrEqual(2);
    expect(await w.handle.result()).toMatchObject({ phase: 'promoted' });
    expect(fake.weights).toEqual([30, 70, 100]);
  } finally {
    await stop(w);
  }
});

test('provider errors past consecutiveErrorLimit and failed measurements hold the rollout: never a pass', async () => {
  const fake = fakeRollout((m) => (m.analysis === 'step' ? (m.seq % 2 ? 'error' : 'throw') : 'pass'));
  const w = await start(env, fake, {
    templates: [
      { name: 'default', metrics: [metric('error-rate')] },
      { name: 'gate', metrics: [metric('p95', { count: 5, interval: '10s', consecutiveErrorLimit: 2 })] },
    ],
    steps: [{ setWeight: 10 }, { analysis: { templates: ['gate'] } }],
  });
  try {
    // Moves workflow time on: the measurements' intervals and the failed ones' retries.
    await env.sleep('5m');
    const held = await untilPhase(w.handle, 'paused', (s) => s.pause?.kind === 'inconclusive');
    expect(held.pause).toMatchObject({
      kind: 'inconclusive',
      reason: expect.stringMatching(
        /^analysis at step 2 inconclusive: p95: 3 provider errors in a row, more than consecutiveErrorLimit 2/,
      ),
    });
    expect(held.lastVerdicts.find((v) => v.metric === 'p95')).toMatchObject({
      verdict: 'inconclusive',
      unjudged: 'error',
    });
    expect(fake.weights).toEqual([10]);
  } finally {
    await end(w);
  }
});

test('a failing background metric aborts the rollout to 0 at once, with an incident naming it; retry is possible', async () => {
  let bad = false;
  const fake = fakeRollout(() => (bad ? 'fail' : 'pass'));
  // Measured every second of real time: the test waits for the state, never for skipped time.
  const w = await start(env, fake, {
    templates: [{ name: 'default', metrics: [metric('error-rate', { interval: '1s' })] }],
    steps: [{ setWeight: 10 }, { pause: { duration: '2s' } }, { setWeight: 50 }, { pause: { duration: '1h' } }],
  });
  try {
    await untilPhase(w.handle, 'paused', (s) => s.weight === 50);
    bad = true;
    const rolled = await untilPhase(w.handle, 'aborted', (s) => s.weight === 0);
    expect(rolled).toMatchObject({ abortedBy: 'the background analysis' });
    expect(rolled.reason).toMatch(/^error-rate: 1 failed measurements, more than failureLimit 0/);
    expect(rolled.details).toMatch(/^aborted at weight 0 by the background analysis: error-rate: 1 failed/);
    expect(fake.weights).toEqual([10, 50, 0]);
    await waitUntil('the incident to be recorded', () => fake.incidents.length > 0);
    expect(fake.incidents).toEqual([
      expect.objectContaining({
        kind: 'rollback',
        reason: expect.stringMatching(/^aborted by the background analysis: error-rate: 1 failed measurements/),
        weightBefore: 50,
        failing: [expect.objectContaining({ metric: 'error-rate', outcome: 'fail', failed: 1 })],
        lastVerdicts: [expect.objectContaining({ metric: 'error-rate', verdict: 'fail', canary: 0.2 })],
      }),
    ]);
    expect(fake.transitions.at(-1)).toMatchObject({ abortCause: 'analysis', transition: { action: 'rollback' } });
    // No measurement after the rollback: the canary takes no traffic.
    const rollbackAt = fake.transitions.at(-1)!.at;
    await env.sleep('10m');
    expect(fake.measured.filter((m) => m.at > rollbackAt)).toEqual([]);
    bad = false;
    expect(await w.handle.executeUpdate(retry)).toMatchObject({ attempt: 2, weight: 10 });
  } finally {
    await end(w);
  }
});

test('a failing metric during the post-promotion watch aborts the rollout from 100 to 0', async () => {
  let bad = false;
  const fake = fakeRollout(() => (bad ? 'fail' : 'pass'));
  const w = await start(env, fake, {
    templates: [{ name: 'default', metrics: [metric('error-rate', { interval: '1s' })] }],
    steps: [{ setWeight: 50 }],
    rollbackWindow: '2h',
  });
  try {
    await untilPhase(w.handle, 'watching', (s) => s.weight === 100);
    bad = true;
    await untilPhase(w.handle, 'aborted', (s) => s.weight === 0);
    expect(fake.weights).toEqual([50, 100, 0]);
    await waitUntil('the incident to be recorded', () => fake.incidents.length > 0);
    expect(fake.incidents[0]).toMatchObject({ kind: 'rollback', weightBefore: 100 });
  } finally {
    await end(w);
  }
});

test('continues as new before the history grows large, keeping the pause clock, the counts and the sequence', async () => {
  const fake = fakeRollout();
  const w = await start(
    env,
    fake,
    { steps: [{ setWeight: 10 }, { pause: { duration: '1h' } }, { setWeight: 100 }], rollbackWindow: '0s' },
    { historyLimit: 60 },
  );
  const result = await w.handle.result();
  await stop(w);
  expect(result).toMatchObject({ phase: 'promoted', weight: 100 });
  const { runId } = await w.handle.describe();
  expect(runId).not.toBe(w.handle.firstExecutionRunId);
  const paused = fake.transitions.find((t) => t.transition.to === 'paused')!.at;
  const resumed = fake.transitions.find((t) => t.transition.weight === 100)!.at;
  // The pause ended an hour after it began, across the runs (the server's timers fire within a second or so).
  expect(resumed - paused).toBeGreaterThanOrEqual(3_600_000);
  expect(resumed - paused).toBeLessThan(3_600_000 + 60_000);
  const seqs = [...fake.measured.map((m) => m.seq), ...fake.transitions.map((t) => t.seq)];
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(fake.weights).toEqual([10, 100]);
});
