import { msToNumber } from '@temporalio/common/lib/time';
import { log, proxyActivities, setCurrentDetails, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { SelfCheckActivities } from '../activities/self-check';
import { correlationFromMemo } from '../lib/correlation';
import {
  selfCheckStep,
  type SelfCheckInput,
  type SelfCheckResult,
  type SelfCheckStep,
} from '../lib/self-check/contract';

/**
 * Proves the whole chain works: a Postgres write, a durable timer that survives a
 * server or worker restart, and a second write.
 */
const { recordSelfCheckStep } = proxyActivities<SelfCheckActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumInterval: '10s' },
});

export async function selfCheck({ wait }: SelfCheckInput): Promise<SelfCheckResult> {
  let step: SelfCheckStep = 'starting';
  setHandler(selfCheckStep, () => step);
  const { workflowId, memo } = workflowInfo();
  const correlationId = correlationFromMemo(memo);
  const startedAt = await recordSelfCheckStep(workflowId, 'started', correlationId);
  step = 'waiting';
  const until = new Date(Date.now() + msToNumber(wait)).toISOString();
  setCurrentDetails(
    `waiting on a durable timer of ${wait} until ${until}: a restart of the server or the worker must not lose it`,
  );
  log.info('self-check waiting on a durable timer', { wait });
  await sleep(wait);
  const finishedAt = await recordSelfCheckStep(workflowId, 'finished', correlationId);
  step = 'finished';
  setCurrentDetails(`finished: wrote at ${startedAt}, waited ${wait}, wrote again at ${finishedAt}`);
  return { startedAt, finishedAt };
}
