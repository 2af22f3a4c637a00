import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { MeasureInput, TransitionInput, WeightInput } from '../../activities/rollout';
import {
  abort,
  approve,
  promote,
  promoteFull,
  retry,
  rolloutWorkflowId,
  status,
  type RolloutStatus,
} from '../../lib/rollout/contract';
import type { MetricVerdict, Verdict } from '../../lib/rollout/verdict';
import type { InconclusiveReason } from '../../lib/rollout/measurement';
import { rolloutSpec, type RolloutSpecInput } from '../../lib/rollout/spec';
import { livePhases, type Phase } from '../../lib/rollout/phases';
import { canaryRollout } from '../../workflows';
import type { IncidentRecord } from '../../store/rollout/records';
import { testWorker, timeSkippingEnv, uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * canaryRollout on the time-skipping server with fake activities: every transition, the
 * weights the router was given (in order), the records and the incidents. The fake judge
 * answers what each test sets; the real judge has its own tests.
 */

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(() => env?.teardown());

type Answer = Verdict | InconclusiveReason | 'throw';

function fakeRollout(answer: (m: MeasureInput) => Answer = () => 'pass') {
  const weights: number[] = [];
  const transitions: TransitionInput[] = [];
  const incidents: IncidentRecord[] = [];
  const measured: MeasureInput[] = [];
  const finished: string[] = [];
  const activities = {
    async recordRolloutStart() {},
    async setRolloutWeight(input: WeightInput) {
      weights.push(input.weight);
    },
    async measureRollout(input: MeasureInput): Promise<MetricVerdict> {
      measured.push(input);
      const a = answer(input);
      if (a === 'throw') throw new Error('the records database is down');
      const name = input.metric.name;
      const base = { metric: name, checks: [], dryRun: input.metric.dryRun };
      if (a === 'pass' || a === 'fail') {
        return {
          ...base,
          verdict: a,
          canary: a === 'pass' ? 0.01 : 0.2,
          reason: `${name} ${a === 'pass' ? 'keeps' : 'breaks'} ≤ 0.05`,
        };
      }
      const unjudged = a === 'inconclusive' ? 'empty' : a;
      return { ...base, verdict: 'inconclusive', unjudged, reason: `${name}: ${unjudged}` };
    },
    async recordRolloutTransition(input: TransitionInput) {
      transitions.push(input);
    },
    async recordRolloutIncident(input: IncidentRecord) {
      incidents.push(input);
    },
    async finishRolloutRecord(id: string) {
      finished.push(id);
    },
  };
  return { weights, transitions, incidents, measured, finished, activities };
}

const metric = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  provider: { type: 'builtin' as const, measure: 'errorRate' as const },
  interval: '1m',
  window: '5m',
  successCondition: { max: 0.05 },
  ...extra,
});

/** A spec whose background analysis measures one metric every minute. */
const spec = (target: string, input: Partial<RolloutSpecInput>) =>
  rolloutSpec.parse({
    target,
    templates: [{ name: 'default', metrics: [metric('error-rate')] }],
    rollbackWindow: '30m',
    ...input,
  });

let seq = 0;
async function start(
  fake: ReturnType<typeof fakeRollout>,
  input: Partial<RolloutSpecInput>,
  extra: { historyLimit?: number } = {},
) {
  const taskQueue = uniqueTaskQueue('rollout');
  const target = `shop-${++seq}`;
  const worker = await testWorker(env, { taskQueue, activities: fake.activities });
  const run = worker.run();
  const handle = await env.client.workflow.start(canaryRollout, {
    taskQueue,
    workflowId: rolloutWorkflowId(target),
    args: [{ spec: spec(target, input), requestedBy: 'test', ...extra }],
  });
  return { handle, worker, run };
}

async function stop(w: { worker: Worker; run: Promise<void> }) {
  w.worker.shutdown();
  await w.run;
}

/**
 * Ends a test's rollout with no activity in flight, then its worker. The time-skipping server
 * stops skipping time for every later test when a workflow is terminated with an activity
 * outstanding, so a live rollout is aborted first (no more measurements) and left to go idle.
 */
async function end(w: { handle: WorkflowHandle; worker: Worker; run: Promise<void> }) {
  const st = await statusOf(w.handle).catch(() => undefined);
  if (st && livePhases.has(st.phase)) await w.handle.executeUpdate(abort, { args: ['test over'] });
  await waitUntil('the rollout to have no activity in flight', async () => {
    const d = await w.handle.describe();
    return d.status.name !== 'RUNNING' || (d.raw.pendingActivities ?? []).length === 0;
  });
  await w.handle.terminate('test over').catch(() => undefined);
  await stop(w);
}

const statusOf = (handle: WorkflowHandle) => handle.query(status);

async function untilPhase(handle: WorkflowHandle, phase: Phase, extra: (s: RolloutStatus) => boolean = () => true) {
  let last: RolloutStatus | undefined;
  await waitUntil(`the rollout to be ${phase}`, async () => {
    last = await statusOf(handle);
    return last.phase === phase && extra(last);
  });
  return last as RolloutStatus;
}

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return ((err as WorkflowUpdateFailedError).cause as Error).message;
};

/** Transitions in the order of their event numbers (records of an update and of the walk may land in either order). */
const bySeq = (fake: ReturnType<typeof fakeRollout>) => [...fake.transitions].sort((a, b) => a.seq - b.seq);
const actions = (fake: ReturnType<typeof fakeRollout>) =>
  bySeq(fake).map((t) => `${t.transition.action}:${t.transition.to}@${t.transition.weight}`);

test('walks the steps with durable timers, watches at 100 % judging only absolute thresholds, and ends promoted', async () => {
  const fake = fakeRollout();
  const w = await start(fake, {
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
  const w = await start(fake, { steps: [{ setWeight: 10 }, { pause: { duration: '1h' } }, { setWeight: 50 }] });
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
  const w = await start(fake, { steps: [{ setWeight: 5 }, { pause: { untilApproved: true } }, { setWeight: 50 }] });
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
  const w = await start(fake, { steps: [{ setWeight: 10 }, { pause: { duration: '10m' } }, { setWeight: 100 }] });
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
  const w = await start(fake, {
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

test('an inconclusive step analysis holds the weight, paused, until a person promotes: never promoted by itself', async () => {
  let answer: Answer = 'inconclusive';
  const fake = fakeRollout((m) => (m.analysis === 'step' ? answer : 'pass'));
  const w = await start(fake, {
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
  const w = await start(fake, {
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
  const w = await start(fake, {
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
  const w = await start(fake, {
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
