import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { selectStatesSteps, type FitStep, type Observations, type Selection } from '../../lib/hmm';
import { stateCounts, type AnalysisParams } from '../../lib/hmm/contract';

export type FitProgress = FitStep & { states: number };

/**
 * Longest stretch of EM between two turns of the event loop. The fit runs on the
 * worker's only JavaScript thread: yielding every few tens of milliseconds lets the
 * heartbeats go out, a cancellation come in and the worker's other tasks run, at a cost
 * far below a percent of the fit's time.
 */
export const SLICE_MS = 25;

/**
 * Fits the request's state count (or each count of its range, keeping the best by its
 * criterion) in this process, one EM round at a time. `onStep` sees every E-step;
 * `checkStop` runs at each turn of the event loop and throws to abandon the fit
 * (cancellation, worker shutdown).
 */
export async function fitLocally(
  obs: Observations,
  params: AnalysisParams,
  hooks: { onStep(step: FitProgress): void; checkStop(): void },
): Promise<Selection> {
  const steps = selectStatesSteps(obs, stateCounts(params), {
    covarianceType: params.covariance,
    seed: params.seed,
    restarts: params.restarts,
    nIter: params.nIter,
    tol: params.tol,
    criterion: params.criterion,
  });
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    hooks.onStep(step.value);
    if (performance.now() - sliceStart >= SLICE_MS) {
      await yieldToEventLoop();
      hooks.checkStop();
      sliceStart = performance.now();
    }
  }
}
