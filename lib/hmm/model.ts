/**
 * Shapes of the engine. Everything numeric lives in flat, row-major Float64Arrays so the
 * hot loops index memory directly instead of chasing nested arrays.
 */
export type CovarianceType = 'diag' | 'full';

/** n observations of d features, row-major: feature j of observation t is data[t * d + j]. */
export interface Observations {
  readonly n: number;
  readonly d: number;
  readonly data: Float64Array;
}

/** A Gaussian HMM with k states over d features. */
export interface HmmParams {
  readonly k: number;
  readonly d: number;
  readonly covarianceType: CovarianceType;
  /** k initial state probabilities. */
  readonly startprob: Float64Array;
  /** k×k transition probabilities, row i = from state i. */
  readonly transmat: Float64Array;
  /** k×d state means. */
  readonly means: Float64Array;
  /** diag: k×d variances; full: k×d×d covariance matrices. */
  readonly covars: Float64Array;
}

/** Free parameters of a model, as counted by BIC and AIC. */
export function freeParameterCount(k: number, d: number, covarianceType: CovarianceType): number {
  const covars = covarianceType === 'diag' ? k * d : (k * d * (d + 1)) / 2;
  return k - 1 + k * (k - 1) + k * d + covars;
}

export function covarsLength(k: number, d: number, covarianceType: CovarianceType): number {
  return covarianceType === 'diag' ? k * d : k * d * d;
}
