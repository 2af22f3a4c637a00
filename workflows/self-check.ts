import type { Duration } from '@temporalio/common';
import { defineQuery, log, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { createSelfCheckActivities } from '../activities/self-check';
import { correlationFromMemo } from '../lib/correlation';

/**
 * Proves the whole chain works: a Postgres write, a durable timer that survives a
 * server or worker restart, and a second write.
 */
const { recordSelfCheckStep } = proxyActivities<ReturnType<typeof createSelfCheckActivities>>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumInterval: '10s' },
});

export interface SelfCheckInput {
  /** How long the durable timer waits between the two writes. */
  wait: Duration;
}

export interface SelfCheckResult {
  startedAt: string;
  finishedAt: string;
}

export const selfCheckStep = defineQuery<'starting' | 'waiting' | 'finished'>('selfCheckStep');

export async function selfCheck({ wait }: SelfCheckInput): Promise<SelfCheckResult> {
  let step: 'starting' | 'waiting' | 'finished' = 'starting';
  setHandler(selfCheckStep, () => step);
  const { workflowId, memo } = workflowInfo();
  const correlationId = correlationFromMemo(memo);
  const startedAt = await recordSelfCheckStep(workflowId, 'started', correlationId);
  step = 'waiting';
  log.info('self-check waiting on a durable timer', { wait });
  await sleep(wait);
  const finishedAt = await recordSelfCheckStep(workflowId, 'finished', correlationId);
  step = 'finished';
  return { startedAt, finishedAt };
}
