import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { AnalysisOutcome, MetricVerdict } from './judge';
import type { RolloutSpec } from './spec';
import type { Pause, Phase } from './state';

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
}

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
  reason?: string;
  attempt: number;
  /** The step analysis and the background analysis as they stand. */
  analysis?: AnalysisOutcome;
  background?: AnalysisOutcome;
  /** The latest verdict per metric. */
  lastVerdicts: MetricVerdict[];
  startedAt: string;
  updatedAt: string;
}

/** Skips the current step: a pause, a manual gate, an analysis, or an inconclusive hold. */
export const promote = defineUpdate<RolloutStatus>('promote');
/** Straight to weight 100 and the post-promotion watch. */
export const promoteFull = defineUpdate<RolloutStatus>('promoteFull');
/** Weight 0 at once, from any live phase including the watch; the reason is recorded. */
export const abort = defineUpdate<RolloutStatus, [reason: string]>('abort');
/** Opens a manual gate (a pause until approved). */
export const approve = defineUpdate<RolloutStatus>('approve');
/** After an abort or a rollback: starts the steps again from the first. */
export const retry = defineUpdate<RolloutStatus>('retry');

export const status = defineQuery<RolloutStatus>('status');
