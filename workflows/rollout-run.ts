import type { RolloutCarry, RolloutInput } from '../lib/rollout/contract';
import type { MetricSpec } from '../lib/rollout/metric-spec';
import type { Transition } from '../lib/rollout/phases';
import type { RolloutSpec } from '../lib/rollout/spec';
import type { RolloutMachine } from '../lib/rollout/state';
import type { MetricVerdict } from '../lib/rollout/verdict';

/**
 * What the parts of one canaryRollout run share (workflows/rollout.ts wires them): the spec,
 * the state machine, the run's state, and the one way a transition is applied.
 */

/** The carried state (see RolloutCarry) and what lives only as long as one run. */
export interface RunState extends Omit<RolloutCarry, 'machine' | 'lastVerdicts'> {
  updatedAt: number;
  /** Bumped when the background run starts afresh: a verdict measured before belongs to the old run. */
  backgroundEpoch: number;
  /** The latest verdict per metric. */
  lastVerdicts: Map<string, MetricVerdict>;
  /** A traffic controller that could not set weight 0. */
  weightError?: string;
  draining: boolean;
  stopped: boolean;
}

/** A run's state: fresh, or as the run before handed it on when it continued as new. */
export function initialState(input: RolloutInput, firstExecutionRunId: string): RunState {
  const carry = input.carry;
  return {
    rolloutId: carry?.rolloutId ?? firstExecutionRunId,
    startedAt: carry?.startedAt ?? Date.now(),
    updatedAt: Date.now(),
    appliedWeight: carry?.appliedWeight ?? 0,
    seq: carry?.seq ?? 1,
    waitingUntil: carry?.waitingUntil,
    waitingRevision: carry?.waitingRevision,
    stepRuns: carry?.stepRuns ?? {},
    stepRevision: carry?.stepRevision,
    backgroundRuns: carry?.backgroundRuns ?? {},
    backgroundEpoch: 0,
    nextDue: carry?.nextDue ?? {},
    lastVerdicts: new Map((carry?.lastVerdicts ?? []).map((v) => [v.metric, v])),
    continuedRuns: carry?.continuedRuns ?? 0,
    weightError: undefined,
    draining: false,
    stopped: false,
  };
}

export type AbortCause = 'manual' | 'analysis' | 'traffic';

export interface Run {
  spec: RolloutSpec;
  machine: RolloutMachine;
  st: RunState;
  /** The background analysis's metrics. */
  background: MetricSpec[];
  /** Applies a transition the machine just made: clocks, words, weight (unless `sync` is false), records. */
  transition: (t: Transition | undefined, abortCause?: AbortCause, sync?: boolean) => Promise<void>;
  /** The current details and search attributes, to the Web UI. */
  publish: () => void;
}

/** What the next run takes over when this one continues as new. */
export function carryOf(st: RunState, machine: RolloutMachine): RolloutCarry {
  return {
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
  };
}
