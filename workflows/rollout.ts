import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RolloutActivities } from '../activities/rollout';
import { permanentErrorTypes } from '../lib/errors';
import {
  abort,
  approve,
  promote,
  promoteFull,
  retry,
  retryWindowMs,
  status,
  type CompactVerdict,
  type RolloutInput,
  type RolloutResult,
  type RolloutStatus,
  type VerdictRuns,
} from '../lib/rollout/contract';
import { describeSituation } from '../lib/rollout/details';
import { durationMs } from '../lib/rollout/duration';
import { analysisOutcome, type AnalysisOutcome, type MetricRunSummary } from '../lib/rollout/analysis-run';
import type { MetricVerdict } from '../lib/rollout/verdict';
import type { MetricSpec } from '../lib/rollout/metric-spec';
import { metricsOf } from '../lib/rollout/spec';
import { describeStep } from '../lib/rollout/step-spec';
import { abortSummary, livePhases, type Action, type Transition } from '../lib/rollout/phases';
import { RolloutMachine } from '../lib/rollout/state';
import { searchAttributes } from '../lib/search-attributes';

/**
 * canaryRollout (id `rollout-<target>`): walks the spec's steps with durable timers,
 * measures the background analysis every interval through the whole rollout and its
 * post-promotion watch, and takes the controls as updates whose validators are the state
 * machine's refusals. Every transition and measurement is stored; an abort, by a person or
 * by analysis, stores an incident naming who aborted, why and the failing metrics.
 *
 * One rule keeps traffic safe: the weight the router holds follows the machine's weight
 * through one serialised applier. An abort while a step's weight is being set waits for
 * that one call, then sets 0 in one call: it never walks back through the steps, and a
 * late call can never overwrite it.
 */

const nonRetryableErrorTypes = [...permanentErrorTypes];

// No attempt limit: weight 0 must get through a router that blinks. Each call has its own
// timeout (the HAProxy socket 5 s, a webhook at most 60 s) that ends before this one.
const traffic = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '75s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5s', nonRetryableErrorTypes },
});
// A provider's failure is an answer, not an error; what retries here is the record's write.
const measurements = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '60s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes },
});
const records = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes },
});

const defaultHistoryLimit = 5000;

type AnalysisKind = 'step' | 'background';

export async function canaryRollout(input: RolloutInput): Promise<RolloutResult> {
  const { spec } = input;
  const info = workflowInfo();
  // Started by the API or with rolloutStartOptions: the attributes are registered and kept current.
  const indexed = info.typedSearchAttributes.get(searchAttributes.rolloutTarget) !== undefined;
  const carry = input.carry;
  const machine = new RolloutMachine(spec.steps, carry?.machine);
  const st = {
    rolloutId: carry?.rolloutId ?? info.firstExecutionRunId,
    startedAt: carry?.startedAt ?? Date.now(),
    updatedAt: Date.now(),
    appliedWeight: carry?.appliedWeight ?? 0,
    seq: carry?.seq ?? 1,
    waitingUntil: carry?.waitingUntil,
    waitingRevision: carry?.waitingRevision,
    stepRuns: carry?.stepRuns ?? ({} as VerdictRuns),
    stepRevision: carry?.stepRevision,
    backgroundRuns: carry?.backgroundRuns ?? ({} as VerdictRuns),
    /** Bumped when the background run starts afresh: a verdict measured before belongs to the old run. */
    backgroundEpoch: 0,
    nextDue: carry?.nextDue ?? ({} as Record<string, number>),
    lastVerdicts: new Map((carry?.lastVerdicts ?? []).map((v) => [v.metric, v])),
    continuedRuns: carry?.continuedRuns ?? 0,
    weightError: undefined as string | undefined,
    draining: false,
    stopped: false,
  };
  const background = spec.backgroundAnalysis ? metricsOf(spec, spec.backgroundAnalysis.templates) : [];
  const historyLimit = input.historyLimit ?? defaultHistoryLimit;

  // ---- what the world sees ---------------------------------------------------------------------

  const stepMetrics = (): MetricSpec[] => {
    const step = machine.step;
    return step && 'analysis' in step ? metricsOf(spec, step.analysis.templates) : [];
  };
  const stepOutcome = (): AnalysisOutcome | undefined =>
    machine.phase === 'analysing' || (st.stepRevision !== undefined && Object.keys(st.stepRuns).length > 0)
      ? analysisOutcome(stepMetrics(), st.stepRuns)
      : undefined;
  const backgroundOutcome = (): AnalysisOutcome | undefined =>
    background.length ? analysisOutcome(background, st.backgroundRuns) : undefined;

  const details = () =>
    describeSituation({
      snapshot: machine.snapshot(),
      steps: spec.steps,
      appliedWeight: st.appliedWeight,
      waitingUntil: waits() ? st.waitingUntil : undefined,
      rollbackWindow: spec.rollbackWindow,
      analysis: machine.phase === 'analysing' ? stepOutcome()?.reason : undefined,
      weightError: st.weightError,
    });
  const waits = () =>
    st.waitingRevision === machine.revision &&
    (machine.phase === 'watching' || machine.phase === 'aborted' || machine.snapshot().pause?.kind === 'timed');

  const currentStatus = (): RolloutStatus => {
    const s = machine.snapshot();
    const step = machine.step;
    const analysis = stepOutcome();
    const bg = backgroundOutcome();
    return {
      target: spec.target,
      ...(spec.version ? { version: spec.version } : {}),
      phase: s.phase,
      stepIndex: s.stepIndex,
      steps: spec.steps.length,
      ...(step ? { step: describeStep(step) } : {}),
      weight: st.appliedWeight,
      ...(s.pause ? { pause: s.pause } : {}),
      ...(waits() && st.waitingUntil !== undefined ? { waitingUntil: new Date(st.waitingUntil).toISOString() } : {}),
      ...(s.reason ? { reason: s.reason } : {}),
      ...(s.abortedBy ? { abortedBy: s.abortedBy } : {}),
      attempt: s.attempt,
      ...(analysis ? { analysis } : {}),
      ...(bg ? { background: bg } : {}),
      lastVerdicts: [...st.lastVerdicts.values()],
      startedAt: new Date(st.startedAt).toISOString(),
      updatedAt: new Date(st.updatedAt).toISOString(),
      details: details(),
      continuedRuns: st.continuedRuns,
    };
  };

  let published = { phase: '', weight: -1 };
  const publish = () => {
    setCurrentDetails(details());
    if (!indexed) return;
    if (published.phase === machine.phase && published.weight === st.appliedWeight) return;
    published = { phase: machine.phase, weight: st.appliedWeight };
    upsertSearchAttributes([
      { key: searchAttributes.rolloutTarget, value: spec.target },
      { key: searchAttributes.rolloutPhase, value: machine.phase },
      { key: searchAttributes.rolloutWeight, value: st.appliedWeight },
    ]);
  };

  // ---- traffic: one applier, in order ------------------------------------------------------------

  let weightChain: Promise<void> = Promise.resolve();
  /** Brings the router to the machine's weight; concurrent callers queue behind the call in flight. */
  const syncWeight = (): Promise<void> => {
    const run = weightChain.then(async () => {
      while (st.appliedWeight !== machine.weight && !st.weightError) {
        const weight = machine.weight;
        try {
          await traffic.setRolloutWeight({ target: spec.target, traffic: spec.traffic, weight });
          st.appliedWeight = weight;
          publish();
        } catch (err) {
          const message = causeMessage(err);
          if (weight === 0) {
            // Retries are unlimited for transient errors: only a permanent refusal gets here.
            st.weightError = message;
            publish();
            log.error('could not set weight 0', { target: spec.target, error: message });
          } else {
            // Recorded before the loop goes on to weight 0; awaiting the applier here would wait on itself.
            await transition(
              machine.rollback('the traffic controller', `setting weight ${weight} % failed: ${message}`),
              'traffic',
              false,
            );
          }
        }
      }
    });
    weightChain = run.catch(() => undefined);
    return run;
  };

  // ---- transitions -------------------------------------------------------------------------------

  /**
   * Applies a transition the machine just made: clocks and words at once (before any await,
   * so that a pause's time starts when it is entered), then the weight, then the records.
   */
  async function transition(t: Transition | undefined, abortCause?: 'manual' | 'analysis' | 'traffic', sync = true) {
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

  /** The deciding metrics that failed or were inconclusive in either analysis: what an incident names. */
  const blockingNow = (): MetricRunSummary[] => [
    ...(stepOutcome()?.blocking ?? []),
    ...(backgroundOutcome()?.blocking ?? []),
  ];

  // ---- updates -----------------------------------------------------------------------------------

  const validator = (action: Action) => (reason?: unknown, by?: unknown) => {
    if (action === 'abort' && typeof reason !== 'string') {
      throw new Error('abort needs a reason, a string (temporal workflow update execute --input \'"why"\')');
    }
    if (action === 'abort' && by !== undefined && by !== null && typeof by !== 'string') {
      throw new Error('abort takes who aborts as its second input, a string (--input \'"alice"\')');
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

  // ---- analysis ----------------------------------------------------------------------------------

  const resetBackground = () => {
    st.backgroundRuns = {};
    st.backgroundEpoch++;
    for (const key of Object.keys(st.nextDue)) if (key.startsWith('background:')) delete st.nextDue[key];
  };

  const needsContinue = () => {
    const i = workflowInfo();
    return i.continueAsNewSuggested || i.historyLength >= historyLimit;
  };

  async function measure(kind: AnalysisKind, metric: MetricSpec): Promise<MetricVerdict> {
    const seq = st.seq++;
    const at = Date.now();
    const baseline = machine.weight < 100 && st.appliedWeight < 100;
    let verdict: MetricVerdict;
    try {
      verdict = await measurements.measureRollout({
        rolloutId: st.rolloutId,
        seq,
        at,
        target: spec.target,
        metric,
        baseline,
        analysis: kind,
        stepIndex: machine.stepIndex,
        weight: st.appliedWeight,
        attempt: machine.snapshot().attempt,
      });
    } catch (err) {
      // Never a pass: a measurement that could not be made or stored counts as a provider error.
      verdict = {
        metric: metric.name,
        verdict: 'inconclusive',
        unjudged: 'error',
        reason: `${metric.name}: the measurement failed: ${causeMessage(err)}`,
        checks: [],
        dryRun: metric.dryRun,
      };
    }
    st.lastVerdicts.set(metric.name, verdict);
    st.nextDue[`${kind}:${metric.name}`] = at + durationMs(metric.interval);
    return verdict;
  }

  const compact = (v: MetricVerdict): CompactVerdict => ({
    verdict: v.verdict,
    reason: v.reason,
    ...(v.unjudged ? { unjudged: v.unjudged } : {}),
  });

  /** Waits until `key` is due or `stop` holds; true when due. */
  async function untilDue(key: string, stop: () => boolean): Promise<boolean> {
    const due = st.nextDue[key];
    if (due === undefined || due <= Date.now()) return !stop();
    return !(await condition(stop, due - Date.now())) && !stop();
  }

  /** The background analysis of one metric: measures every interval while the canary takes traffic. */
  async function backgroundLoop(metric: MetricSpec): Promise<void> {
    const key = `background:${metric.name}`;
    const measurable = () =>
      livePhases.has(machine.phase) &&
      machine.weight > 0 &&
      st.appliedWeight > 0 &&
      (metric.count === undefined || (st.backgroundRuns[metric.name]?.length ?? 0) < metric.count);
    const halt = () => st.draining || st.stopped;
    for (;;) {
      await condition(() => halt() || measurable());
      if (halt()) return;
      if (!(await untilDue(key, () => halt() || !measurable()))) continue;
      const epoch = st.backgroundEpoch;
      const verdict = await measure('background', metric);
      if (epoch !== st.backgroundEpoch || !livePhases.has(machine.phase)) continue;
      (st.backgroundRuns[metric.name] ??= []).push(compact(verdict));
      const outcome = analysisOutcome(background, st.backgroundRuns);
      if (outcome.outcome === 'fail') {
        await transition(machine.rollback('the background analysis', outcome.reason), 'analysis');
      } else if (outcome.outcome === 'inconclusive') {
        await transition(machine.holdInconclusive(`background analysis inconclusive: ${outcome.reason}`));
      }
    }
  }

  /** The analysis of the current step; returns once it is decided, or the rollout moved on. */
  async function stepAnalysis(revision: number): Promise<void> {
    const metrics = stepMetrics();
    if (st.stepRevision !== revision) {
      st.stepRuns = {};
      st.stepRevision = revision;
      for (const key of Object.keys(st.nextDue)) if (key.startsWith('step:')) delete st.nextDue[key];
    }
    let decided = false;
    const done = () => decided || st.draining || machine.revision !== revision;
    const decide = () => {
      if (analysisOutcome(metrics, st.stepRuns).outcome !== 'running') decided = true;
    };
    decide();
    await Promise.all(
      metrics.map(async (metric) => {
        const key = `step:${metric.name}`;
        // A step analysis without a count takes one measurement: it must end for the rollout to go on.
        const count = metric.count ?? 1;
        for (;;) {
          if (done() || (st.stepRuns[metric.name]?.length ?? 0) >= count) return;
          if (!(await untilDue(key, done))) continue;
          const verdict = await measure('step', metric);
          if (machine.revision !== revision) return;
          (st.stepRuns[metric.name] ??= []).push(compact(verdict));
          decide();
        }
      }),
    );
    if (st.draining || machine.revision !== revision) return;
    const outcome = analysisOutcome(metrics, st.stepRuns, { ended: true });
    const step = `step ${machine.stepIndex + 1}`;
    if (outcome.outcome === 'pass') await transition(machine.completeStep(machine.stepIndex));
    else if (outcome.outcome === 'fail')
      await transition(machine.rollback(`the analysis of ${step}`, outcome.reason), 'analysis');
    else await transition(machine.holdInconclusive(`analysis at ${step} inconclusive: ${outcome.reason}`));
  }

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
      await weightChain;
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
    await weightChain;
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

/** An activity failure's own message (its cause), which is what a person can act on. */
function causeMessage(err: unknown): string {
  let e = err as { cause?: unknown; message?: string } | undefined;
  while (e?.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return e?.message ?? String(err);
}
