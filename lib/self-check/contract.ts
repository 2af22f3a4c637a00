import type { Duration } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';

/** The self-check's contract: a Postgres write, a durable timer, a second write. */

export interface SelfCheckInput {
  /** How long the durable timer waits between the two writes. */
  wait: Duration;
}

export interface SelfCheckResult {
  startedAt: string;
  finishedAt: string;
}

export type SelfCheckStep = 'starting' | 'waiting' | 'finished';
export type SelfCheckWorkflow = (input: SelfCheckInput) => Promise<SelfCheckResult>;

export const selfCheckWorkflowType = 'selfCheck';
export const selfCheckStep = defineQuery<SelfCheckStep>('selfCheckStep');
