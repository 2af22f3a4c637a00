import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { RolloutActivities } from '../activities/rollout';
import {
  abort,
  approve,
  promote,
  promoteFull,
  retry,
  retryWindowMs,
  status,
  type RolloutInput,
  type RolloutResult,
} from '../lib/rollout/contract';
import { durationMs } from '../lib/rollout/duration';
import { abortSummary, type Action, type Transition } from '../lib/rollout/phases';
import { metricsOf } from '../lib/rollout/spec';
import { RolloutMachine } from '../lib/rollout/state';
import { searchAttributes } from '../lib/search-attributes';
import { createAnalysis } from './rollout-analysis';
import { initialState, nonRetryableErrorTypes, type AbortCause, type Run } from './rollout-run';
import { createStatusView } from './rollout-status';
import { createWeightApplier } from './rollout-traffic';
import { controlCharacters } from '../lib/text';

/**
 * canaryRollout (id `rollout-<target>`): walks the spec's steps with durable timers,
 * measures the background analysis every interval through the whole rollout and its
 * post-promotion watch, and takes the controls as updates whose validators are the state
 * machine's refusals. Every transition and measurement is stored; an abort, by a person or
 * by analysis, stores an incident naming who aborted, why and the failing metrics.
 * Its parts: the analyses (./rollout-analysis), the one applier that moves traffic
 * (./rollout-traffic), the status and the Web UI's words (./rollout-status).
 */

const records = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes },
});

const defaultHistoryLimit = 5000;

export async function canaryRollout(input: RolloutInput): Promise<RolloutResult> {
  const { spec } = input;
  const info = workflowInfo();
  // Started by the API or with rolloutStartOptions: the attributes are registered and kept current.
  const indexed = info.typedSearchAttributes.get(searchAttributes.rolloutTarget) !== undefined;
  const carry = input.carry;
  const machine = new RolloutMachine(spec.steps, carry?.machine);
  const st = initialState(input, info.firstExecutionRunId);
  const background = spec.backgroundAnalysis ? metricsOf(spec, spec.backgroundAnalysis.templates) : [];
  const historyLimit = input.historyLimit ?? defaultHistoryLimit;
  const run: Run = { spec, machine, st, background, transition, publish: () => publish() };
  const analysis = createAnalysis(run);
  const { blockingNow, resetBackground, backgroundLoop, stepAnalysis } = analysis;
  const { currentStatus, publish } = createStatusView(run, analysis, indexed);
  const { syncWeight, idle } = createWeightApplier(run);

  // ---- transitions -------------------------------------------------------------------------------

  /**
   * Applies a transition the machine just made: clocks and words at once (before any await,
   * so that a pause's time starts when it is entered), then the weight, then the records.
   */
  async function transition(t: Transition | undefined, abortCause?: AbortCause, sync = true) {
    if (!t) return;
    const seq = st.seq++;
    const at = Date.now();
    st.updatedAt = at;
    const s = machine.snapshot();
    const weightBefore = st.appliedWeight;
    if (s.pause?.kind === 'timed') startWaiting(durationMs(s.pause.duration));
    else if (s.phase === 'watching') startWaiting(durationMs(spec.rollbackWindow));
    else if (s.phase === 'aborted') startWaiting(retryWindowMs);
    const failing = t.action === 'abort' || t.action === 'rollback' ? blockingNow() : undefined;
    publish();
    if (sync) await syncWeight();
    await records.recordRolloutTransition({
      rolloutId: st.rolloutId,
      seq,
      at,
      target: spec.target,
      transition: t,
      attempt: s.attempt,
      finished: t.to === 'promoted',
      ...(failing && abortCause ? { abortCause } : {}),
    });
    if (failing) {
      await records.recordRolloutIncident({
        rolloutId: st.rolloutId,
        seq,
        at,
        kind: t.action === 'abort' ? 'abort' : 'rollback',
        reason: t.reason ?? t.action,
        stepIndex: t.stepIndex,
        weightBefore,
        attempt: s.attempt,
        failing,
        lastVerdicts: [...st.lastVerdicts.values()],
      });
    }
  }

  const startWaiting = (ms: number) => {
    st.waitingUntil = Date.now() + ms;
    st.waitingRevision = machine.revision;
  };

  // ---- updates -----------------------------------------------------------------------------------

  const validator = (action: Action) => (reason?: unknown, by?: unknown) => {
    if (action === 'abort' && typeof reason !== 'string') {
      throw new Error('abort needs a reason, a string (temporal workflow update execute --input \'"why"\')');
    }
    if (action === 'abort' && by !== undefined && by !== null && typeof by !== 'string') {
      throw new Error('abort takes who aborts as its second input, a string (--input \'"alice"\')');
    }
    if (action === 'abort' && typeof by === 'string' && controlCharacters.test(by)) {
      throw new Error('who aborts must not contain control characters');
    }
    const refused = machine.refusal(action, reason as string | undefined);
    if (refused) throw new Error(`${action} refused: ${refused}`);
  };

  setHandler(status, currentStatus);
  setHandler(
    promote,
    async () => {
      // Past an inconclusive hold, the analyses start afresh: the old run's counts would hold it again.
      if (machine.snapshot().pause?.kind === 'inconclusive') resetBackground();
      await transition(machine.promote());
      return currentStatus();
    },
    { validator: validator('promote') },
  );
  setHandler(
    promoteFull,
    async () => {
      await transition(machine.promoteFull());
      return currentStatus();
    },
    { validator: validator('promoteFull') },
  );
  setHandler(
    abort,
    async (reason, by) => {
      await transition(machine.abort(reason, by), 'manual');
      return currentStatus();
    },
    { validator: validator('abort') },
  );
  setHandler(
    approve,
    async () => {
      await transition(machine.approve());
      return currentStatus();
    },
    { validator: validator('approve') },
  );
  setHandler(
    retry,
    async () => {
      resetBackground();
      st.stepRuns = {};
      st.stepRevision = undefined;
      st.weightError = undefined;
      await transition(machine.retry());
      return currentStatus();
    },
    { validator: validator('retry') },
  );

  const needsContinue = () => {
    const i = workflowInfo();
    return i.continueAsNewSuggested || i.historyLength >= historyLimit;
  };

  // ---- the walk ----------------------------------------------------------------------------------

  const loops = background.map((m) => backgroundLoop(m));
  if (!carry) {
    await records.recordRolloutStart({
      rolloutId: st.rolloutId,
      workflowId: info.workflowId,
      spec,
      ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
      startedAt: st.startedAt,
    });
    await transition(machine.start());
  } else {
    publish();
  }

  for (;;) {
    if (needsContinue()) {
      st.draining = true;
      await Promise.all(loops);
      await idle();
      await condition(allHandlersFinished);
      return continueAsNew<typeof canaryRollout>({
        ...input,
        carry: {
          rolloutId: st.rolloutId,
          startedAt: st.startedAt,
          machine: machine.snapshot(),
          appliedWeight: st.appliedWeight,
          seq: st.seq,
          waitingUntil: st.waitingUntil,
          waitingRevision: st.waitingRevision,
          stepRuns: st.stepRuns,
          stepRevision: st.stepRevision,
          backgroundRuns: st.backgroundRuns,
          nextDue: st.nextDue,
          lastVerdicts: [...st.lastVerdicts.values()],
          continuedRuns: st.continuedRuns + 1,
        },
      });
    }
    const revision = machine.revision;
    const index = machine.stepIndex;
    const changed = () => machine.revision !== revision || needsContinue();
    /** Waits for a change or for the current wait's end; true when the time ran out unchanged. */
    const timedOut = async () => {
      const left = Math.max(0, (st.waitingUntil ?? Date.now()) - Date.now());
      return !(await condition(changed, left)) && !changed();
    };
    const snapshot = machine.snapshot();
    switch (snapshot.phase) {
      case 'progressing':
        await syncWeight();
        if (!changed()) await transition(machine.completeStep(index));
        break;
      case 'analysing':
        await syncWeight();
        if (!changed()) await stepAnalysis(revision);
        break;
      case 'paused':
        if (snapshot.pause?.kind === 'timed' && (await timedOut())) await transition(machine.completeStep(index));
        else if (snapshot.pause?.kind !== 'timed') await condition(changed);
        break;
      case 'waiting-for-approval':
        await condition(changed);
        break;
      case 'watching':
        await syncWeight();
        if (await timedOut()) await transition(machine.endWatch());
        break;
      case 'aborted':
        await syncWeight();
        if (await timedOut()) return finish();
        break;
      case 'promoted':
        return finish();
    }
  }

  async function finish(): Promise<RolloutResult> {
    st.stopped = true;
    await Promise.all(loops);
    await idle();
    await condition(allHandlersFinished);
    if (machine.phase !== 'promoted') await records.finishRolloutRecord(st.rolloutId);
    const s = machine.snapshot();
    return {
      target: spec.target,
      phase: s.phase,
      weight: st.appliedWeight,
      attempt: s.attempt,
      ...(s.phase === 'aborted' ? { reason: abortSummary(s) } : {}),
    };
  }
}
