import {
  ParentClosePolicy,
  executeChild,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { HmmActivities } from '../activities/hmm';
import { failureMessage } from './failure';
import {
  defaultAnalysisParams,
  hmmAnalysisStartOptions,
  hmmAnalysisWorkflowType,
  type HmmAnalysisWorkflow,
  type HmmRefitInput,
  type HmmRefitResult,
} from '../lib/hmm/contract';

const io = proxyActivities<HmmActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumAttempts: 5 },
});

/**
 * The daily refit, started by the `hmm-refit` Schedule: analyses every symbol with bars
 * under the default parameters, `concurrency` at a time, each as a child with the
 * analysis's own id (so a refit joins nothing twice and each run is found by symbol).
 * A symbol whose default analysis is already running is left to that run.
 */
export async function hmmRefit({ concurrency }: HmmRefitInput): Promise<HmmRefitResult> {
  const symbols = await io.trackedSymbols();
  const result: HmmRefitResult = { symbols: symbols.length, completed: 0, failed: [] };
  let next = 0;
  const lane = async () => {
    while (next < symbols.length) {
      const symbol = symbols[next++];
      const options = hmmAnalysisStartOptions(defaultAnalysisParams(symbol), workflowInfo().taskQueue);
      setCurrentDetails(`refitting ${symbols.length} symbols: ${next} started, ${result.completed} completed`);
      try {
        await executeChild<HmmAnalysisWorkflow>(hmmAnalysisWorkflowType, {
          ...options,
          // A refit cancelled or terminated leaves the analyses it started to finish.
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
        result.completed++;
      } catch (err) {
        const reason = err instanceof WorkflowExecutionAlreadyStartedError ? 'already running' : failureMessage(err);
        result.failed.push({ symbol, reason });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, symbols.length)) }, lane));
  setCurrentDetails(`${result.completed} of ${symbols.length} symbols refitted, ${result.failed.length} failed`);
  return result;
}
