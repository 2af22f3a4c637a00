import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { AnalysisOutcome } from '../lib/rollout/analysis-run';
import type { RolloutStatus } from '../lib/rollout/contract';
import { describeSituation } from '../lib/rollout/details';
import { describeStep } from '../lib/rollout/step-spec';
import { searchAttributes } from '../lib/search-attributes';
import type { Run } from './rollout-run';

interface Outcomes {
  stepOutcome: () => AnalysisOutcome | undefined;
  backgroundOutcome: () => AnalysisOutcome | undefined;
}

/**
 * What the world sees of a run: the `status` query's answer, and the current details and
 * search attributes the Web UI shows (`indexed`: the run was started with the attributes).
 */
export function createStatusView(
  { spec, machine, st }: Run,
  { stepOutcome, backgroundOutcome }: Outcomes,
  indexed: boolean,
) {
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

  return { currentStatus, publish };
}
