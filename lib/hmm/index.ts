/**
 * Gaussian hidden Markov models for market regimes, in pure TypeScript: no I/O and no
 * Node built-ins, so workflows and activities alike may import it.
 */
export type { CovarianceType, HmmParams, Observations } from './model';
export { freeParameterCount } from './model';
export { createRng, type Rng } from './prng';
export { observationsFromRows, minObservations, validateForFit, validateParams, MAX_STATES } from './validate';
export {
  fitHmm,
  fitHmmSteps,
  fitFrom,
  FIT_DEFAULTS,
  type FitOptions,
  type FitResult,
  type FitStep,
  type RestartSummary,
} from './fit';
export { drain, type EmResult, type EmStep } from './baum-welch';
export { selectStates, selectStatesSteps, type Candidate, type Criterion, type Selection } from './select';
export { score, decode, filtered, posteriors } from './infer';
export { volatilityLabels, volatilityOrder, permuteStates, stateVolatility } from './labels';
export { covarianceFloor, DEFAULT_FLOOR_RATIO } from './floor';
export { modelToJson, modelFromJson, modelJsonSchema, type ModelJson } from './json';
export {
  logReturns,
  rollingVolatility,
  averageTrueRange,
  regimeFeatures,
  returnObservations,
  REGIME_FEATURES,
  type Bar,
} from './features';
export { sampleHmm, syntheticBars, DEFAULT_REGIMES, DEFAULT_TRANSMAT, type Regime } from './synthetic';
