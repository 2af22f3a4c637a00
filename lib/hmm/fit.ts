import { validationError } from '../errors';
import type { CovarianceType, HmmParams, Observations } from './model';
import { baumWelchSteps, drain, type EmResult } from './baum-welch';
import { covarianceFloor, DEFAULT_FLOOR_RATIO } from './floor';
import { initialParams } from './init';
import { permuteStates, volatilityLabels, volatilityOrder } from './labels';
import { createRng } from './prng';
import { validateFinite, validateForFit, validateIterations, validateParams } from './validate';

export interface FitOptions {
  readonly states: number;
  readonly covarianceType?: CovarianceType;
  /** Seed of the k-means++ initialisations; same data and seed give the same model. */
  readonly seed?: number;
  /** Independent initialisations; the most likely fit wins (EM has many local optima). */
  readonly restarts?: number;
  readonly nIter?: number;
  readonly tol?: number;
  /** Variance floor as a fraction of each feature's variance. */
  readonly floorRatio?: number;
  readonly onIteration?: (progress: { restart: number; iteration: number; logLikelihood: number }) => void;
}

export const FIT_DEFAULTS = { covarianceType: 'diag', seed: 0, restarts: 4, nIter: 100, tol: 1e-4 } as const;

export interface RestartSummary {
  readonly seed: number;
  readonly logLikelihood: number;
  readonly converged: boolean;
  readonly iterations: number;
}

export interface FitResult {
  /** The most likely restart's model, states ordered from calmest to most volatile. */
  readonly model: HmmParams;
  readonly labels: string[];
  readonly logLikelihood: number;
  readonly converged: boolean;
  readonly iterations: number;
  readonly history: number[];
  /** Index of the winning restart. */
  readonly best: number;
  readonly restarts: RestartSummary[];
}

/** Where a fit is: restart r's log-likelihood after `iteration` M-steps. */
export interface FitStep {
  readonly restart: number;
  readonly iteration: number;
  readonly logLikelihood: number;
}

/**
 * Fits a Gaussian HMM: several seeded k-means++ initialisations (alternately on the
 * features and on their local dispersion, see init.ts), Baum-Welch from each,
 * the most likely kept (ties: the earlier restart), its states ordered by volatility.
 * Restarts run one after another on the calling thread.
 */
export function fitHmm(obs: Observations, options: FitOptions): FitResult {
  return drain(fitHmmSteps(obs, options));
}

/**
 * fitHmm one EM round at a time: the same fit, bit for bit, yielding after every
 * E-step so that the caller may heartbeat, yield to its event loop or stop.
 * Invalid options throw before the first step.
 */
export function* fitHmmSteps(obs: Observations, options: FitOptions): Generator<FitStep, FitResult> {
  const k = options.states;
  const covarianceType = options.covarianceType ?? FIT_DEFAULTS.covarianceType;
  const seed = options.seed ?? FIT_DEFAULTS.seed;
  const restarts = options.restarts ?? FIT_DEFAULTS.restarts;
  const nIter = options.nIter ?? FIT_DEFAULTS.nIter;
  const tol = options.tol ?? FIT_DEFAULTS.tol;
  const floorRatio = options.floorRatio ?? DEFAULT_FLOOR_RATIO;
  if (covarianceType !== 'diag' && covarianceType !== 'full') {
    throw validationError(`covarianceType must be 'diag' or 'full', got ${String(covarianceType)}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw validationError(`seed must be an integer between 0 and 4294967295, got ${seed}`);
  }
  if (!Number.isInteger(restarts) || restarts < 1 || restarts > 1000) {
    throw validationError(`restarts must be an integer between 1 and 1000, got ${restarts}`);
  }
  validateIterations(nIter, tol);
  validateFloorRatio(floorRatio);
  validateForFit(obs, k, covarianceType);

  const floor = covarianceFloor(obs, floorRatio);
  const master = createRng(seed);
  const summaries: RestartSummary[] = [];
  let best: EmResult | undefined;
  let bestIndex = 0;
  for (let r = 0; r < restarts; r++) {
    const restartSeed = master.nextUint32();
    const strategy = r % 2 === 0 ? 'features' : 'dispersion';
    const init = initialParams(obs, k, covarianceType, createRng(restartSeed), floor, strategy);
    const onIteration = options.onIteration;
    const steps = baumWelchSteps(obs, init, {
      nIter,
      tol,
      floor,
      onIteration: onIteration && ((iteration, logLikelihood) => onIteration({ restart: r, iteration, logLikelihood })),
    });
    let result: EmResult;
    for (;;) {
      const step = steps.next();
      if (step.done) {
        result = step.value;
        break;
      }
      yield { restart: r, ...step.value };
    }
    summaries.push({
      seed: restartSeed,
      logLikelihood: result.logLikelihood,
      converged: result.converged,
      iterations: result.iterations,
    });
    if (!best || result.logLikelihood > best.logLikelihood) {
      best = result;
      bestIndex = r;
    }
  }
  const chosen = best!;
  // The floor is ratio × variance, so dividing by it weighs features by their variance.
  const model = permuteStates(chosen.params, volatilityOrder(chosen.params, floor));
  return {
    model,
    labels: volatilityLabels(k),
    logLikelihood: chosen.logLikelihood,
    converged: chosen.converged,
    iterations: chosen.iterations,
    history: chosen.history,
    best: bestIndex,
    restarts: summaries,
  };
}

/**
 * Baum-Welch from the given parameters, states left in their given order: a fit
 * anyone can reproduce with another engine from the same starting point. Without tol it
 * runs exactly nIter iterations.
 */
export function fitFrom(
  obs: Observations,
  init: HmmParams,
  options: { nIter: number; tol?: number; floorRatio?: number },
): EmResult {
  validateParams(init);
  validateFinite(obs);
  if (obs.d !== init.d) throw validationError(`the data has ${obs.d} feature(s) but the model expects ${init.d}`);
  validateIterations(options.nIter, options.tol);
  const floorRatio = options.floorRatio ?? DEFAULT_FLOOR_RATIO;
  validateFloorRatio(floorRatio);
  return drain(
    baumWelchSteps(obs, init, { nIter: options.nIter, tol: options.tol, floor: covarianceFloor(obs, floorRatio) }),
  );
}

function validateFloorRatio(r: number): void {
  if (!(r > 0 && r < 1)) throw validationError(`floorRatio must be between 0 and 1 (exclusive), got ${r}`);
}
