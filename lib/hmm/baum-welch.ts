import type { HmmParams, Observations } from './model';
import { emissionLogLikelihood } from './gaussian';
import { createWorkspace, forwardBackward } from './forward-backward';
import { mStep } from './mstep';
import { cloneParams, emptyParams } from './params';

export interface EmOptions {
  /** Most M-steps to take. */
  readonly nIter: number;
  /**
   * Stop, converged, once an iteration gains less log-likelihood than this. Without a
   * tolerance every iteration runs and the fit never reports convergence.
   */
  readonly tol?: number;
  /** Per-feature variance floor (see floor.ts). */
  readonly floor: Float64Array;
  /** Called after each E-step, e.g. to heartbeat; throwing from it abandons the fit. */
  readonly onIteration?: (iteration: number, logLikelihood: number) => void;
}

export interface EmResult {
  readonly params: HmmParams;
  /** Log-likelihood of `params` (the returned model, not the one before the last M-step). */
  readonly logLikelihood: number;
  /** True only when the last gain fell below tol; hitting nIter is not convergence. */
  readonly converged: boolean;
  /** M-steps taken. */
  readonly iterations: number;
  /** history[i] is the log-likelihood after i M-steps; history[0] is the initial model's. */
  readonly history: number[];
}

/** What one EM round reports: the log-likelihood after `iteration` M-steps. */
export interface EmStep {
  readonly iteration: number;
  readonly logLikelihood: number;
}

/**
 * Baum-Welch (EM) from given initial parameters. Each round scores the current model
 * (E-step) and, unless the gain fell below tol, re-estimates it (M-step), so the
 * returned log-likelihood always belongs to the returned parameters.
 */
export function baumWelch(obs: Observations, init: HmmParams, options: EmOptions): EmResult {
  return drain(baumWelchSteps(obs, init, options));
}

/**
 * Baum-Welch one E-step at a time: yields after each, so a caller can yield to its event
 * loop between rounds (heartbeats, cancellation) without threads. Returns the result.
 */
export function* baumWelchSteps(obs: Observations, init: HmmParams, options: EmOptions): Generator<EmStep, EmResult> {
  const { n, d } = obs;
  const { k, covarianceType } = init;
  const ws = createWorkspace(n, k);
  const logB = new Float64Array(n * k);
  const post = new Float64Array(k);
  const scratch = new Float64Array(d * d);
  let cur = cloneParams(init);
  let next = emptyParams(k, d, covarianceType);

  const estep = (p: HmmParams): number => {
    emissionLogLikelihood(obs, p, logB);
    return forwardBackward(logB, p.startprob, p.transmat, ws);
  };

  let ll = estep(cur);
  const history = [ll];
  options.onIteration?.(0, ll);
  yield { iteration: 0, logLikelihood: ll };
  let converged = false;
  let iterations = 0;
  while (iterations < options.nIter) {
    mStep(obs, cur, next, ws, options.floor, post, scratch);
    const swap = cur;
    cur = next;
    next = swap;
    iterations++;
    const value = estep(cur);
    history.push(value);
    options.onIteration?.(iterations, value);
    yield { iteration: iterations, logLikelihood: value };
    const gain = value - ll;
    ll = value;
    if (options.tol !== undefined && gain < options.tol) {
      converged = true;
      break;
    }
  }
  return { params: cur, logLikelihood: ll, converged, iterations, history };
}

/** Runs a step generator to its end and returns what it returns. */
export function drain<R>(steps: Generator<unknown, R>): R {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}
