/**
 * The rollout's phases and the snapshot the state machine (./state) keeps of them. A
 * person's abort and the judge's rollback both end in `aborted`, with who or what
 * aborted and why; `retry` starts an aborted rollout again.
 */

export const phases = [
  'progressing',
  'paused',
  'waiting-for-approval',
  'analysing',
  'watching',
  'promoted',
  'aborted',
] as const;
export type Phase = (typeof phases)[number];

/** Phases in which the rollout still moves traffic and can be aborted. */
export const livePhases: ReadonlySet<Phase> = new Set([
  'progressing',
  'paused',
  'waiting-for-approval',
  'analysing',
  'watching',
]);
/** Who aborts when the API or the Temporal CLI names nobody. */
export const unnamedOperator = 'an operator';

export type Pause =
  { kind: 'timed'; duration: string } | { kind: 'approval' } | { kind: 'inconclusive'; reason: string };

export type Action = 'promote' | 'promoteFull' | 'abort' | 'approve' | 'retry';

export interface RolloutSnapshot {
  phase: Phase;
  /** The current step; steps.length means past the last step (watching or promoted). */
  stepIndex: number;
  /** The canary's share of traffic, 0 to 100, as last decided. */
  weight: number;
  pause?: Pause;
  /** Why the rollout was aborted. */
  reason?: string;
  /**
   * Who or what aborted it: a person's name, or the part of the rollout that took the
   * weight to 0 (`the background analysis`, `the analysis of step 3`, `the traffic controller`).
   */
  abortedBy?: string;
  /** 1 for the first run of the steps, +1 per retry. */
  attempt: number;
  /** +1 on every transition: lets the workflow wait for "anything changed". */
  revision: number;
}

export interface Transition {
  action: Action | 'start' | 'step' | 'inconclusive' | 'rollback' | 'watchEnded';
  from: Phase;
  to: Phase;
  stepIndex: number;
  weight: number;
  /** An abort's or a rollback's `aborted by <who>: <why>` (as the records keep it), or an inconclusive hold's reason. */
  reason?: string;
}

export const maxReasonLength = 500;
export const maxNameLength = 200;

/** An aborted rollout's cause in words: `aborted by the background analysis: error-rate: …`. */
export const abortSummary = (s: Pick<RolloutSnapshot, 'abortedBy' | 'reason'>): string =>
  `aborted by ${s.abortedBy ?? unnamedOperator}: ${s.reason ?? 'no reason given'}`;

/**
 * A snapshot carried across continue-as-new by a run of an earlier version, in which the
 * judge's rollback ended in a phase of its own, `rolled-back`: now `aborted` by analysis.
 */
export function fromEarlierSnapshot(snapshot: RolloutSnapshot): RolloutSnapshot {
  if ((snapshot.phase as string) !== 'rolled-back') return { ...snapshot };
  return { ...snapshot, phase: 'aborted', abortedBy: snapshot.abortedBy ?? 'analysis' };
}
