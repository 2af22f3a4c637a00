import { describeStep, type Step } from './step-spec';
import { abortSummary, unnamedOperator, type RolloutSnapshot } from './phases';

export interface Situation {
  snapshot: RolloutSnapshot;
  steps: readonly Step[];
  /** The weight the traffic controller last confirmed: differs from the snapshot's while it moves. */
  appliedWeight: number;
  /** When the current timed pause, the watch or the wait for a retry ends (ms since the epoch). */
  waitingUntil?: number;
  rollbackWindow: string;
  /** The running analysis, in words ("error-rate: 2 of 5 measurements"). */
  analysis?: string;
  /** A traffic controller that could not set weight 0. */
  weightError?: string;
}

const time = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The rollout's current situation in words, as the Web UI shows it and the status
 * carries: what it waits for, and what a person can do about it.
 */
export function describeSituation(x: Situation): string {
  const { snapshot: s, steps } = x;
  const step = steps[s.stepIndex];
  if (s.stepIndex < 0) return 'starting';
  const at = step ? `step ${s.stepIndex + 1} of ${steps.length} (${describeStep(step)})` : 'after the last step';
  const until = x.waitingUntil !== undefined ? ` until ${time(x.waitingUntil)}` : '';
  const moving = x.appliedWeight !== s.weight ? `, moving from weight ${x.appliedWeight} %` : '';
  switch (s.phase) {
    case 'progressing':
      return `progressing: ${at}, weight ${s.weight} %${moving}`;
    case 'paused':
      if (s.pause?.kind === 'inconclusive') {
        return `paused: inconclusive at weight ${s.weight} %, ${at}: ${s.pause.reason}. Promote to go on, or abort`;
      }
      return `paused at weight ${s.weight} %, ${at}${until}`;
    case 'waiting-for-approval':
      return `waiting for approval at weight ${s.weight} %, ${at}. Approve to go on, or abort`;
    case 'analysing':
      return `analysing at weight ${s.weight} %, ${at}${x.analysis ? `: ${x.analysis}` : ''}`;
    case 'watching':
      return `watching at weight 100 %${moving} for the rollback window of ${x.rollbackWindow}${until}`;
    case 'promoted':
      return `promoted at weight 100 %`;
    case 'aborted': {
      const summary = abortSummary(s);
      if (x.weightError) return `${summary}; but weight 0 could not be set (${x.weightError})`;
      if (x.appliedWeight !== 0) return `${summary}; taking weight ${x.appliedWeight} % to 0`;
      const settled = `aborted at weight 0 by ${s.abortedBy ?? unnamedOperator}: ${s.reason}`;
      return `${settled}. Retry starts again from step 1${until ? ` (possible${until})` : ''}`;
    }
  }
}
