import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { searchAttributes } from '../search-attributes';
import type { AnalysisOutcome, RunVerdict } from './analysis-run';
import type { MetricVerdict } from './verdict';
import type { RolloutSpec } from './spec';
import { describeStep } from './step-spec';
import type { Pause, Phase, RolloutSnapshot } from './phases';

/**
 * The canaryRollout workflow's identity, input, status and messages, shared by the
 * workflow, the API, the activities and the CLI. Controls are updates, so a caller learns
 * at once whether its action applied or why not (the validators run RolloutMachine's
 * refusals). Wire names are short for the Temporal CLI:
 *   temporal workflow update execute --workflow-id rollout-checkout --name abort --input '"p95 too high"'
 *   temporal workflow query --workflow-id rollout-checkout --name status
 */

export const rolloutWorkflowType = 'canaryRollout';

/** One rollout per target at a time: a second start for the same target is refused (HTTP 409). */
export const rolloutWorkflowId = (target: string) => `rollout-${target}`;

export const targetFromWorkflowId = (workflowId: string): string | undefined =>
  workflowId.startsWith('rollout-') ? workflowId.slice('rollout-'.length) : undefined;

export interface RolloutInput {
  spec: RolloutSpec;
  /** Who asked for it (an API token's name, a CLI user), for the records. */
  requestedBy?: string;
  /** Continue as new once the history holds this many events (default 5000; tests lower it). */
  historyLimit?: number;
  /** Carried across continue-as-new; absent on the first run. */
  carry?: RolloutCarry;
}

/** The judge's view of one measurement, kept in the workflow: what the run limits count. */
export type CompactVerdict = RunVerdict;

/** Verdicts of one analysis run, by metric name. */
export type VerdictRuns = Record<string, CompactVerdict[]>;

/** What a run hands to the next when it continues as new. */
export interface RolloutCarry {
  /** The rollout's records key: the first run's id. */
  rolloutId: string;
  startedAt: number;
  machine: RolloutSnapshot;
  /** The weight the traffic controller last confirmed. */
  appliedWeight: number;
  /** The next event's sequence number in rollout_events. */
  seq: number;
  /** When the current timed pause, the watch or the wait for a retry ends (ms since the epoch). */
  waitingUntil?: number;
  /** The revision of the machine that `waitingUntil` belongs to. */
  waitingRevision?: number;
  stepRuns: VerdictRuns;
  /** The revision of the machine the step analysis belongs to. */
  stepRevision?: number;
  backgroundRuns: VerdictRuns;
  /** When each metric is due next (ms since the epoch). */
  nextDue: Record<string, number>;
  lastVerdicts: MetricVerdict[];
  continuedRuns: number;
}

export interface RolloutResult {
  target: string;
  phase: Phase;
  weight: number;
  attempt: number;
  reason?: string;
}

export type CanaryRolloutWorkflow = (input: RolloutInput) => Promise<RolloutResult>;

/**
 * An aborted rollout (by a person or by analysis) waits this long for a retry, then ends, freeing its
 * target for the next rollout (its weight is 0 already). Terminating it frees it at once.
 */
export const retryWindowMs = 24 * 3_600_000;

export interface RolloutStatus {
  target: string;
  version?: string;
  phase: Phase;
  /** 0-based; equal to steps.length once every step is done (watching or promoted). */
  stepIndex: number;
  steps: number;
  step?: string;
  weight: number;
  pause?: Pause;
  /** When the current timed pause or the watch ends (ISO 8601). */
  waitingUntil?: string;
  /** Why the rollout was aborted. */
  reason?: string;
  /** Who or what aborted it: a person, `the background analysis`, `the analysis of step N`, `the traffic controller`. */
  abortedBy?: string;
  attempt: number;
  /** The step analysis and the background analysis as they stand. */
  analysis?: AnalysisOutcome;
  background?: AnalysisOutcome;
  /** The latest verdict per metric. */
  lastVerdicts: MetricVerdict[];
  startedAt: string;
  updatedAt: string;
  /** The current situation in words, as the Web UI shows it. */
  details: string;
  continuedRuns: number;
}

/** Skips the current step: a pause, a manual gate, an analysis, or an inconclusive hold. */
export const promote = defineUpdate<RolloutStatus>('promote');
/** Straight to weight 100 and the post-promotion watch. */
export const promoteFull = defineUpdate<RolloutStatus>('promoteFull');
/**
 * Weight 0 at once, from any live phase including the watch; the reason and who aborted are
 * recorded (`--input '"why"' --input '"alice"'` from the Temporal CLI; the name is optional).
 */
export const abort = defineUpdate<RolloutStatus, [reason: string, by?: string]>('abort');
/** Opens a manual gate (a pause until approved). */
export const approve = defineUpdate<RolloutStatus>('approve');
/** After an abort (by a person or by analysis): starts the steps again from the first. */
export const retry = defineUpdate<RolloutStatus>('retry');

export const status = defineQuery<RolloutStatus>('status');

/**
 * How every rollout is started, by the API or a script: its id (one per target), the
 * search attributes the list shows until the workflow updates them, and the static
 * summary and details the Web UI shows (the plan; the current situation is the workflow's
 * current details).
 */
export function rolloutStartOptions(spec: RolloutSpec, requestedBy?: string) {
  const traffic =
    spec.traffic.controller === 'flag'
      ? `feature flag ${spec.traffic.flag ?? spec.target}`
      : spec.traffic.controller === 'haproxy'
        ? `HAProxy backend ${spec.traffic.backend}`
        : `webhook ${spec.traffic.url}`;
  const background = spec.backgroundAnalysis?.templates.join(', ');
  return {
    workflowId: rolloutWorkflowId(spec.target),
    args: [{ spec, ...(requestedBy ? { requestedBy } : {}) }] as [RolloutInput],
    typedSearchAttributes: [
      { key: searchAttributes.rolloutTarget, value: spec.target },
      { key: searchAttributes.rolloutPhase, value: 'progressing' },
      { key: searchAttributes.rolloutWeight, value: 0 },
    ] as SearchAttributePair[],
    staticSummary: `Canary rollout of ${spec.target}${spec.version ? ` ${spec.version}` : ''} through ${traffic}`,
    staticDetails: [
      `**Steps**`,
      ...spec.steps.map((step, i) => `${i + 1}. ${describeStep(step)}`),
      '',
      `**Background analysis**: ${background ?? 'none'}`,
      `**Watch after promotion**: ${spec.rollbackWindow}`,
      ...(requestedBy ? [`**Requested by**: ${requestedBy}`] : []),
    ].join('\n'),
  };
}
