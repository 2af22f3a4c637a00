import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { abort, approve, promote, promoteFull, retry } from '../../lib/rollout/contract';
import {
  fakeRollout,
  metric,
  start,
  stop,
  end,
  statusOf,
  untilPhase,
  refusal,
  bySeq,
  actions,
} from '../helpers/rollout-workflow';
import { timeSkippingEnv } from '../helpers/time-skipping';

/** canaryRollout's walk and its controls: the steps with durable timers, abort, promote, approve, retry. */

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(() => env?.teardown());

test('walks the steps with durable timers, watches at 100 % judging only absolute thresholds, and ends promoted', async () => {
  const fake = fakeRollout();
  const w = await start(env, fake, {
    steps: [{ setWeight: 20 }, { pause: { duration: '10m' } }, { setWeight: 50 }, { pause: { duration: '10m' } }],
  });
  const result = await w.handle.result();
  await stop(w);
  expect(result).toEqual({ target: expect.any(String), phase: 'promoted', weight: 100, attempt: 1 });
  expect(fake.weights).toEqual([20, 50, 100]);
  expect(actions(fake)).toEqual([
    'start:progressing@20',
    'step:paused@20',
    'step:progressing@50',
    'step:paused@50',
    'step:watching@100',
    'watchEnded:promoted@100',
  ]);
  // Durable timers: each pause took its 10 minutes and the watch its 30, in workflow time.
  const at = (action: string, to: string) =>
    fake.transitions.find((t) => t.transition.action === action && t.transition.to === to)!.at;
  expect(at('step', 'progressing') - at('step', 'paused')).toBeGreaterThanOrEqual(10 * 60_000);
  expect(at('watchEnded', 'promoted') - at('step', 'watching')).toBeGreaterThanOrEqual(30 * 60_000);
  // The background analysis measured every minute with a baseline below 100 %, without one in the watch.
  const before = fake.measured.filter((m) => m.at < at('step', 'watching'));
  const watch = fake.measured.filter((m) => m.at > at('step', 'watching'));
  expect(before.length).toBeGreaterThanOrEqual(19);
  expect(before.every((m) => m.baseline && m.analysis === 'background')).toBe(true);
  expect(watch.length).toBeGreaterThanOrEqual(29);
  expect(watch.every((m) => !m.baseline && m.weight === 100)).toBe(true);
  // Events are numbered once each: measurements and transitions share one sequence.
  const seqs = [...fake.measured.map((m) => m.seq), ...fake.transitions.map((t) => t.seq)].sort((a, b) => a - b);
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(fake.transitions.at(-1)!.finished).toBe(true);
});

test('abort during a pause takes the weight to 0 in one call, records an incident, and refuses what no longer applies', async () => {
  const fake = fakeRollout();
  const w = await start(env, fake, { steps: [{ setWeight: 10 }, { pause: { duration: '1h' } }, { setWeight: 50 }] });
  try {
    const paused = await untilPhase(w.handle, 'paused');
    expect(paused).toMatchObject({
      weight: 10,
      pause: { kind: 'timed', duration: '1h' },
      waitingUntil: expect.any(String),
    });
    expect(paused.details).toMatch(/^paused at weight 10 %, step 2 of 3 \(pause 1h\) until /);

    expect(await refusal(w.handle.executeUpdate(abort, { args: ['  '] }))).toBe(
      'abort refused: abort needs a reason: it is recorded with the abort',
    );
    expect(await refusal(w.handle.executeUpdate(abort, { args: ['p95\u0000up'] }))).toBe(
      'abort refused: the abort reason must not contain control characters',
    );
    expect(await refusal(w.handle.executeUpdate(abort, { args: ['p95 up', 'al\u0000ice'] }))).toBe(
      'who aborts must not contain control characters',
    );
    const after = await w.handle.executeUpdate(abort, { args: ['p95 regressed in checkout', 'alice'] });
    expect(after).toMatchObject({
      phase: 'aborted',
      weight: 0,
      reason: 'p95 regressed in checkout',
      abortedBy: 'alice',
    });
    expect(after.details).toMatch(/^aborted at weight 0 by alice: p95 regressed in checkout\. Retry starts again/);
    expect(fake.weights).toEqual([10, 0]);
    expect(fake.incidents).toEqual([
      expect.objectContaining({
        kind: 'abort',
        reason: 'aborted by alice: p95 regressed in checkout',
        weightBefore: 10,
        stepIndex: 1,
      }),
    ]);
    expect(fake.transitions.at(-1)).toMatchObject({
      abortCause: 'manual',
      transition: { action: 'abort', from: 'paused' },
    });

    expect(await refusal(w.handle.executeUpdate(abort, { args: ['again'] }))).toMatch(
      /^abort refused: the rollout is already aborted by alice: p95 regressed in checkout \(weight 0\); retry starts it again$/,
    );
    expect(await refusal(w.handle.executeUpdate(promote))).toMatch(
      /^promote refused: promote applies to a live rollout; this one is aborted/,
    );
    // The pause's timer firing later moves nothing.
    await env.sleep('2h');
    expect(await statusOf(w.handle)).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(fake.weights).toEqual([10, 0]);
  } finally {
    await end(w);
  }
});

test('abort after a full promote, during the watch, still takes the weight to 0', async () => {
  const fake = fakeRollout();
  const w = await start(env, fake, {
    steps: [{ setWeight: 5 }, { pause: { untilApproved: true } }, { setWeight: 50 }],
  });
  try {
    await untilPhase(w.handle, 'waiting-for-approval');
    const full = await w.handle.executeUpdate(promoteFull);
    expect(full).toMatchObject({ phase: 'watching', weight: 100, stepIndex: 3 });
    expect(await refusal(w.handle.executeUpdate(promoteFull))).toBe(
      'promoteFull refused: the rollout is already at weight 100 and watching',
    );
    // Named by nobody, as from the Temporal CLI with the reason alone.
    const aborted = await w.handle.executeUpdate(abort, { args: ['errors in the logs after promotion'] });
    expect(aborted).toMatchObject({ phase: 'aborted', weight: 0, abortedBy: 'an operator' });
    expect(fake.weights).toEqual([5, 100, 0]);
    expect(fake.incidents).toEqual([expect.objectContaining({ kind: 'abort', weightBefore: 100 })]);
  } finally {
    await end(w);
  }
});

test('retry after an abort starts again from the first step and can then be promoted', async () => {
  const fake = fakeRollout();
  const w = await start(env, fake, { steps: [{ setWeight: 10 }, { pause: { duration: '10m' } }, { setWeight: 100 }] });
  try {
    await untilPhase(w.handle, 'paused');
    expect(await refusal(w.handle.executeUpdate(retry))).toMatch(
      /^retry refused: retry applies only after an abort; the rollout is paused at step 2 of 3/,
    );
    await w.handle.executeUpdate(abort, { args: ['wrong build'] });
    const retried = await w.handle.executeUpdate(retry);
    // The update answers once step 1's weight is set again; the walk goes on from there.
    expect(retried).toMatchObject({ attempt: 2, weight: 10 });
    expect(retried.reason).toBeUndefined();
    const result = await w.handle.result();
    expect(result).toEqual({ target: expect.any(String), phase: 'promoted', weight: 100, attempt: 2 });
    expect(fake.weights).toEqual([10, 0, 10, 100]);
    expect(
      bySeq(fake)
        .filter((t) => t.attempt === 2)
        .map((t) => t.transition.action),
    ).toEqual(['retry', 'step', 'step', 'step', 'watchEnded']);
  } finally {
    await stop(w);
  }
});

test('a manual gate waits for approve, however long, and approve refuses anywhere else', async () => {
  const fake = fakeRollout();
  const w = await start(env, fake, {
    templates: [{ name: 'default', metrics: [metric('error-rate', { interval: '15m' })] }],
    steps: [{ setWeight: 25 }, { pause: { untilApproved: true } }, { setWeight: 60 }],
  });
  try {
    const gate = await untilPhase(w.handle, 'waiting-for-approval');
    expect(gate.details).toBe(
      'waiting for approval at weight 25 %, step 2 of 3 (wait for approval). Approve to go on, or abort',
    );
    await env.sleep('6h');
    expect(await statusOf(w.handle)).toMatchObject({ phase: 'waiting-for-approval', weight: 25 });
    const approved = await w.handle.executeUpdate(approve);
    expect(approved.stepIndex).toBeGreaterThanOrEqual(2);
    expect(await refusal(w.handle.executeUpdate(approve))).toMatch(
      /^approve refused: approve applies only at a manual gate/,
    );
    expect(await w.handle.result()).toMatchObject({ phase: 'promoted', weight: 100 });
    expect(fake.weights).toEqual([25, 60, 100]);
  } finally {
    await stop(w);
  }
});

test('an abort while the rollout records its start holds: the first step never begins, and retry begins it', async () => {
  const fake = fakeRollout();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  fake.activities.recordRolloutStart = () => gate;
  const w = await start(env, fake, { steps: [{ setWeight: 20 }, { pause: { duration: '10m' } }] });
  const afterAbort = await w.handle.executeUpdate(abort, { args: ['wrong build', 'alice'] });
  expect(afterAbort).toMatchObject({ phase: 'aborted', weight: 0 });
  open();
  await untilPhase(w.handle, 'aborted', () => fake.transitions.length >= 1);
  expect(await statusOf(w.handle)).toMatchObject({ phase: 'aborted', weight: 0, abortedBy: 'alice' });
  expect(fake.weights.every((weight) => weight === 0)).toBe(true);
  expect(actions(fake)).toEqual(['abort:aborted@0']);
  await w.handle.executeUpdate(retry);
  await untilPhase(w.handle, 'paused');
  expect(fake.weights.at(-1)).toBe(20);
  await end(w);
});
