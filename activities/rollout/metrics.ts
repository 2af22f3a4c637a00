import type { MetricMeter } from '@temporalio/common';
import type { Verdict } from '../../lib/rollout/verdict';
import type { Transition } from '../../lib/rollout/phases';
import { labelSets, onRuntimeMeter } from '../meter';

/** Why a rollout went to weight 0: a person, the judge, or a traffic controller that refused a step. */
export type AbortCause = 'manual' | 'analysis' | 'traffic';
const abortCauses: readonly AbortCause[] = ['manual', 'analysis', 'traffic'];

/** Every transition a rollout records: its steps, the operator's actions, rollback and the end of the watch. */
export const transitionActions: readonly Transition['action'][] = [
  'start',
  'step',
  'inconclusive',
  'rollback',
  'watchEnded',
  'promote',
  'promoteFull',
  'abort',
  'approve',
  'retry',
];
const verdicts: readonly Verdict[] = ['pass', 'fail', 'inconclusive'];

/** The rollout figures on the worker's /metrics. */
export interface RolloutMetrics {
  aborted(cause: AbortCause): void;
  weight(target: string, weight: number): void;
  transition(action: Transition['action']): void;
  verdict(verdict: Verdict, analysis: 'step' | 'background'): void;
}

export function createRolloutMetrics(meter: MetricMeter): RolloutMetrics {
  const aborts = meter.createCounter('rollout_aborts_total', '', 'Rollouts taken to weight 0, by cause');
  const weight = meter.createGauge('rollout_weight', 'int', '', "The canary's share of traffic in percent, by target");
  const transitions = meter.createCounter(
    'rollout_transitions_total',
    '',
    'Rollout transitions recorded (a step is action="step"), by action',
  );
  const judged = meter.createCounter(
    'rollout_analysis_verdicts_total',
    '',
    'Canary measurements judged, by verdict and analysis (step or background)',
  );
  for (const set of labelSets({ reason: abortCauses })) aborts.add(0, set);
  for (const set of labelSets({ action: transitionActions })) transitions.add(0, set);
  for (const set of labelSets({ verdict: verdicts, analysis: ['step', 'background'] })) judged.add(0, set);
  return {
    aborted: (cause) => aborts.add(1, { reason: cause }),
    weight: (target, value) => weight.set(value, { target }),
    transition: (action) => transitions.add(1, { action: transitionActions.includes(action) ? action : 'other' }),
    verdict: (verdict, analysis) => judged.add(1, { verdict, analysis }),
  };
}

/** Made on first use, once per process: see onRuntimeMeter. */
export const runtimeRolloutMetrics = onRuntimeMeter(createRolloutMetrics);
