import type { CovarianceType, Observations } from './model';
import { cholesky } from './linalg';

/**
 * Default floor as a fraction of each feature's variance over the whole series. Scaled to
 * the data, not absolute: daily returns have variances near 1e-5, which an absolute floor
 * such as hmmlearn's min_covar of 1e-3 would swamp. A regime's variance is rarely below
 * a hundredth of the series' variance, so the floor only binds on a state collapsing onto
 * a few repeated points, where the likelihood would otherwise run to infinity.
 */
export const DEFAULT_FLOOR_RATIO = 1e-3;

/** Per-feature floor: ratio × the feature's variance. */
export function covarianceFloor(obs: Observations, ratio = DEFAULT_FLOOR_RATIO): Float64Array {
  const { n, d, data } = obs;
  const floor = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let t = 0; t < n; t++) mean += data[t * d + j];
    mean /= n;
    let v = 0;
    for (let t = 0; t < n; t++) {
      const z = data[t * d + j] - mean;
      v += z * z;
    }
    // The smallest positive normal double keeps the floor positive on any non-constant feature.
    floor[j] = Math.max((ratio * v) / n, 2.2250738585072014e-308);
  }
  return floor;
}

/**
 * Keeps state s's covariance usable: variances at least the floor; a full matrix made
 * exactly symmetric and, when rounding or collinear features leave it not
 * positive-definite, given a growing ridge of the floor until Cholesky succeeds.
 */
export function applyFloor(
  covars: Float64Array,
  s: number,
  d: number,
  covarianceType: CovarianceType,
  floor: Float64Array,
  scratch: Float64Array,
): void {
  if (covarianceType === 'diag') {
    for (let j = 0; j < d; j++) if (!(covars[s * d + j] >= floor[j])) covars[s * d + j] = floor[j];
    return;
  }
  const o = s * d * d;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      const v = 0.5 * (covars[o + i * d + j] + covars[o + j * d + i]);
      covars[o + i * d + j] = v;
      covars[o + j * d + i] = v;
    }
    if (!(covars[o + i * d + i] >= floor[i])) covars[o + i * d + i] = floor[i];
  }
  for (let ridge = 1; !cholesky(covars, o, d, scratch, 0); ridge *= 2) {
    for (let i = 0; i < d; i++) covars[o + i * d + i] += ridge * floor[i];
  }
}
