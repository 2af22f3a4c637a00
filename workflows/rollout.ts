import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { status, type RolloutInput, type RolloutResult } from '../lib/rollout/contract';
import { abortSummary } from '../lib/rollout/phases';
import { metricsOf } from '../lib/rollout/spec';
import { RolloutMachine } from '../lib/rollout/state';
import { searchAttributes } from '../lib/search-attributes';
import { createAnalysis } from './rollout-analysis';
import { setControls } from './rollout-controls';
import { carryOf, initialState, type Run } from './rollout-run';
import { createStatusView } from './rollout-status';
import { createWeightApplier } from './rollout-traffic';
import { createTransition, records } from './rollout-transition';

/**
 * canaryRollout (id `rollout-<target>`): walks the spec's steps with durable timers,
 * measures the background analysis every interval through the whole rollout and its
 * post-promotion watch, and takes the controls as updates whose validators are the state
 * machine's refusals. Every transition and measurement is stored; an abort, by a person or
 * by analysis, stores an incident naming who aborted, why and the failing metrics.
 * Its parts: the analyses (./rollout-analysis), the one applier that moves traffic
 * (./rollout-traffic), the transitions and their records (./rollout-transition), the controls
 * (./rollout-controls), the status and the Web UI's words (./rollout-status).
 */

const defaultHistoryLimit = 5000;

export async function canaryRollout(input: RolloutInput): Promise<RolloutResult> {
  const { spec, carry } = input;
  const info = workflowInfo();
  // Started by the API or with rolloutStartOptions: the attributes are registered and kept current.
  const indexed = info.typedSearchAttributes.get(searchAttributes.rolloutTarget) !== undefined;
  const machine = new RolloutMachine(spec.steps, carry?.machine);
  const st = initialState(input, info.firstExecutionRunId);
  const background = spec.backgroundAnalysis ? metricsOf(spec, spec.backgroundAnalysis.templates) : [];
  const historyLimit = input.historyLimit ?? defaultHistoryLimit;
  const run: Run = { spec, machine, st, background, transition: (...t) => transition(...t), publish: () => publish() };
  const analysis = createAnalysis(run);
  const { currentStatus, publish } = createStatusView(run, analysis, indexed);
  const { syncWeight, idle } = createWeightApplier(run);
  const transition = createTransition(run, { blockingNow: analysis.blockingNow, publish, syncWeight });

  setHandler(status, currentStatus);
  setControls(run, { currentStatus, resetBackground: analysis.resetBackground });
  const needsContinue = () => {
    const i = workflowInfo();
    return i.continueAsNewSuggested || i.historyLength >= historyLimit;
  };
  /** The loops and the traffic applier finish, and the accepted controls, before the run ends. */
  const settle = async () => {
    await Promise.all(loops);
    await idle();
    await condition(allHandlersFinished);
  };

  const loops = background.map((m) => analysis.backgroundLoop(m));
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
      await settle();
      return continueAsNew<typeof canaryRollout>({ ...input, carry: carryOf(st, machine) });
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
        if (!changed()) await analysis.stepAnalysis(revision);
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
    await settle();
    if (machine.phase !== 'promoted') await records.finishRolloutRecord(st.rolloutId);
    const s = machine.snapshot();
    const reason = s.phase === 'aborted' ? { reason: abortSummary(s) } : {};
    return { target: spec.target, phase: s.phase, weight: st.appliedWeight, attempt: s.attempt, ...reason };
  }
}
