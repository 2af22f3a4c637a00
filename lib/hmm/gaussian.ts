import type { HmmParams, Observations } from './model';
import { cholesky, logDetFromCholesky } from './linalg';
import { AppError } from '../errors';

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * Log density of every observation under every state's Gaussian: out[t * k + s].
 * Full covariances go through their Cholesky factor (a triangular solve per point), so
 * no matrix is ever inverted.
 */
export function emissionLogLikelihood(obs: Observations, p: HmmParams, out?: Float64Array): Float64Array {
  const logB = out ?? new Float64Array(obs.n * p.k);
  if (p.covarianceType === 'diag') diagLogLikelihood(obs, p, logB);
  else fullLogLikelihood(obs, p, logB);
  return logB;
}

function diagLogLikelihood(obs: Observations, p: HmmParams, logB: Float64Array): void {
  const { n, d, data } = obs;
  const { k, means, covars } = p;
  const inv = new Float64Array(k * d);
  const cst = new Float64Array(k);
  for (let s = 0; s < k; s++) {
    let logDet = 0;
    for (let j = 0; j < d; j++) {
      inv[s * d + j] = 1 / covars[s * d + j];
      logDet += Math.log(covars[s * d + j]);
    }
    cst[s] = -0.5 * (d * LOG_2PI + logDet);
  }
  if (d === 1) {
    // The common case (one feature): no inner loop.
    for (let t = 0; t < n; t++) {
      const x = data[t];
      for (let s = 0; s < k; s++) {
        const z = x - means[s];
        logB[t * k + s] = cst[s] - 0.5 * z * z * inv[s];
      }
    }
    return;
  }
  for (let t = 0; t < n; t++) {
    const row = t * d;
    for (let s = 0; s < k; s++) {
      let q = 0;
      for (let j = 0; j < d; j++) {
        const z = data[row + j] - means[s * d + j];
        q += z * z * inv[s * d + j];
      }
      logB[t * k + s] = cst[s] - 0.5 * q;
    }
  }
}

function fullLogLikelihood(obs: Observations, p: HmmParams, logB: Float64Array): void {
  const { n, d, data } = obs;
  const { k, means, covars } = p;
  const dd = d * d;
  const chol = new Float64Array(k * dd);
  const cst = new Float64Array(k);
  for (let s = 0; s < k; s++) {
    if (!cholesky(covars, s * dd, d, chol, s * dd)) {
      throw new AppError('Internal', `covariance of state ${s} is not positive-definite`);
    }
    cst[s] = -0.5 * (d * LOG_2PI + logDetFromCholesky(chol, s * dd, d));
  }
  const z = new Float64Array(d);
  for (let t = 0; t < n; t++) {
    const row = t * d;
    for (let s = 0; s < k; s++) {
      const o = s * dd;
      let q = 0;
      // Forward substitution L z = x - mu; the quadratic form is |z|².
      for (let i = 0; i < d; i++) {
        let v = data[row + i] - means[s * d + i];
        for (let m = 0; m < i; m++) v -= chol[o + i * d + m] * z[m];
        v /= chol[o + i * d + i];
        z[i] = v;
        q += v * v;
      }
      logB[t * k + s] = cst[s] - 0.5 * q;
    }
  }
}
