import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { MeasureInput, TransitionInput, WeightInput } from '../../activities/rollout';
import { abort, rolloutWorkflowId, status, type RolloutStatus } from '../../lib/rollout/contract';
import type { InconclusiveReason } from '../../lib/rollout/measurement';
import { livePhases, type Phase } from '../../lib/rollout/phases';
import { rolloutSpec, type RolloutSpecInput } from '../../lib/rollout/spec';
import type { MetricVerdict, Verdict } from '../../lib/rollout/verdict';
import type { IncidentRecord } from '../../store/rollout/records';
import { canaryRollout } from '../../workflows';
import { testWorker, uniqueTaskQueue } from './time-skipping';
import { waitUntil } from './wait';

/**
 * canaryRollout on the time-skipping server with fake activities (test/workflows/rollout*.test.ts):
 * every transition, the weights the router was given (in order), the records and the incidents.
 * The fake judge answers what each test sets; the real judge has its own tests.
 */

export type Answer = Verdict | InconclusiveReason | 'throw';

export function fakeRollout(answer: (m: MeasureInput) => Answer = () => 'pass') {
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

export const metric = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  provider: { type: 'builtin' as const, measure: 'errorRate' as const },
  interval: '1m',
  window: '5m',
  successCondition: { max: 0.05 },
  ...extra,
});

/** A spec whose background analysis measures one metric every minute. */
export const spec = (target: string, input: Partial<RolloutSpecInput>) =>
  rolloutSpec.parse({
    target,
    templates: [{ name: 'default', metrics: [metric('error-rate')] }],
    rollbackWindow: '30m',
    ...input,
  });

let seq = 0;
export async function start(
  env: TestWorkflowEnvironment,
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

export async function stop(w: { worker: Worker; run: Promise<void> }) {
  w.worker.shutdown();
  await w.run;
}

/**
 * Ends a test's rollout with no activity in flight, then its worker. The time-skipping server
 * stops skipping time for every later test when a workflow is terminated with an activity
 * outstanding, so a live rollout is aborted first (no more measurements) and left to go idle.
 */
export async function end(w: { handle: WorkflowHandle; worker: Worker; run: Promise<void> }) {
  const st = await statusOf(w.handle).catch(() => undefined);
  if (st && livePhases.has(st.phase)) await w.handle.executeUpdate(abort, { args: ['test over'] });
  await waitUntil('the rollout to have no activity in flight', async () => {
    const d = await w.handle.describe();
    return d.status.name !== 'RUNNING' || (d.raw.pendingActivities ?? []).length === 0;
  });
  await w.handle.terminate('test over').catch(() => undefined);
  await stop(w);
}

export const statusOf = (handle: WorkflowHandle) => handle.query(status);

export async function untilPhase(
  handle: WorkflowHandle,
  phase: Phase,
  extra: (s: RolloutStatus) => boolean = () => true,
) {
  let last: RolloutStatus | undefined;
  await waitUntil(`the rollout to be ${phase}`, async () => {
    last = await statusOf(handle);
    return last.phase === phase && extra(last);
  });
  return last as RolloutStatus;
}

export const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return ((err as WorkflowUpdateFailedError).cause as Error).message;
};

/** Transitions in the order of their event numbers (records of an update and of the walk may land in either order). */
export const bySeq = (fake: ReturnType<typeof fakeRollout>) => [...fake.transitions].sort((a, b) => a.seq - b.seq);
export const actions = (fake: ReturnType<typeof fakeRollout>) =>
  bySeq(fake).map((t) => `${t.transition.action}:${t.transition.to}@${t.transition.weight}`);
