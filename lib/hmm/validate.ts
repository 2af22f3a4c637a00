import { validationError } from '../errors';
import { covarsLength, freeParameterCount, type CovarianceType, type HmmParams, type Observations } from './model';
import { cholesky } from './linalg';

export const MAX_STATES = 32;

/** Builds observations from rows (N × D), rejecting ragged rows and non-finite values. */
export function observationsFromRows(rows: readonly (readonly number[])[]): Observations {
  if (!Array.isArray(rows) || rows.length === 0) throw validationError('X must hold at least one row of features');
  const d = Array.isArray(rows[0]) ? rows[0].length : 0;
  if (d === 0) throw validationError('X[0] must be a non-empty array of numbers');
  const data = new Float64Array(rows.length * d);
  for (let t = 0; t < rows.length; t++) {
    const row = rows[t];
    if (!Array.isArray(row) || row.length !== d) {
      throw validationError(`X[${t}] has ${Array.isArray(row) ? row.length : 'no'} features, expected ${d} like X[0]`);
    }
    for (let j = 0; j < d; j++) data[t * d + j] = row[j];
  }
  return { n: rows.length, d, data };
}

export function validateStateCount(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > MAX_STATES) {
    throw validationError(`states must be an integer between 1 and ${MAX_STATES}, got ${k}`);
  }
}

/** Checks that a value is finite, naming where it is: X[12][0] is NaN. */
export function validateFinite(obs: Observations): void {
  const { n, d, data } = obs;
  for (let i = 0; i < n * d; i++) {
    if (!Number.isFinite(data[i])) {
      const t = Math.floor(i / d);
      throw validationError(`X[${t}][${i - t * d}] is ${data[i]}: every feature must be a finite number`, {
        row: t,
        feature: i - t * d,
      });
    }
  }
}

/**
 * The checks a fit needs: finite values, enough observations for the parameters of k
 * states, no constant feature (a constant series has no regimes and would drive a
 * variance to zero), at least k distinct observations for k-means to seed k states.
 */
export function validateForFit(obs: Observations, k: number, covarianceType: CovarianceType): void {
  validateStateCount(k);
  validateFinite(obs);
  const { n, d, data } = obs;
  const needed = minObservations(k, d, covarianceType);
  if (n < needed) {
    throw validationError(
      `too few observations for ${k} state(s) with ${d} feature(s) (${covarianceType} covariance): need at least ${needed}, got ${n}`,
      { needed, got: n },
    );
  }
  for (let j = 0; j < d; j++) {
    const first = data[j];
    let constant = true;
    for (let t = 1; t < n && constant; t++) constant = data[t * d + j] === first;
    if (constant) {
      throw validationError(
        `feature ${j} is constant (every value is ${first}): a constant series has no regimes to find`,
        { feature: j },
      );
    }
  }
  if (distinctRowsAtLeast(obs, k) < k) {
    throw validationError(`only ${distinctRowsAtLeast(obs, k)} distinct observation(s) for ${k} states`);
  }
}

/** One more observation than free parameters, so that BIC and AIC mean something. */
export function minObservations(k: number, d: number, covarianceType: CovarianceType): number {
  return Math.max(2 * k, freeParameterCount(k, d, covarianceType) + 1);
}

/** Counts distinct rows, stopping once `enough` are found. */
function distinctRowsAtLeast(obs: Observations, enough: number): number {
  const { n, d, data } = obs;
  const seen: number[] = [];
  for (let t = 0; t < n && seen.length < enough; t++) {
    const isNew = seen.every((s) => {
      for (let j = 0; j < d; j++) if (data[s * d + j] !== data[t * d + j]) return true;
      return false;
    });
    if (isNew) seen.push(t);
  }
  return seen.length;
}

export function validateParams(p: HmmParams): void {
  const { k, d, covarianceType } = p;
  validateStateCount(k);
  if (!Number.isInteger(d) || d < 1) throw validationError(`a model needs at least one feature, got ${d}`);
  if (covarianceType !== 'diag' && covarianceType !== 'full') {
    throw validationError(`covarianceType must be 'diag' or 'full', got ${String(covarianceType)}`);
  }
  const lengths: [string, Float64Array, number][] = [
    ['startprob', p.startprob, k],
    ['transmat', p.transmat, k * k],
    ['means', p.means, k * d],
    ['covars', p.covars, covarsLength(k, d, covarianceType)],
  ];
  for (const [name, arr, len] of lengths) {
    if (arr.length !== len) throw validationError(`${name} must hold ${len} values for ${k} states, got ${arr.length}`);
    for (let i = 0; i < len; i++) {
      if (!Number.isFinite(arr[i])) throw validationError(`${name} holds ${arr[i]} at index ${i}`);
    }
  }
  checkDistribution('startprob', p.startprob);
  for (let i = 0; i < k; i++) checkDistribution(`transmat row ${i}`, p.transmat.subarray(i * k, i * k + k));
  if (covarianceType === 'diag') {
    for (let i = 0; i < k * d; i++) {
      if (!(p.covars[i] > 0))
        throw validationError(`covars of state ${Math.floor(i / d)} must be positive, got ${p.covars[i]}`);
    }
  } else {
    const l = new Float64Array(d * d);
    for (let s = 0; s < k; s++) {
      const o = s * d * d;
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < i; j++) {
          const a = p.covars[o + i * d + j];
          const b = p.covars[o + j * d + i];
          if (Math.abs(a - b) > 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-300)) {
            throw validationError(`covars of state ${s} must be symmetric: [${i}][${j}] = ${a}, [${j}][${i}] = ${b}`);
          }
        }
      }
      if (!cholesky(p.covars, o, d, l, 0)) throw validationError(`covars of state ${s} must be positive-definite`);
    }
  }
}

function checkDistribution(name: string, v: Float64Array): void {
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0) throw validationError(`${name} has a negative probability ${v[i]}`);
    sum += v[i];
  }
  if (Math.abs(sum - 1) > 1e-6) throw validationError(`${name} must sum to 1, sums to ${sum}`);
}

export function validateIterations(nIter: number, tol: number | undefined): void {
  if (!Number.isInteger(nIter) || nIter < 1 || nIter > 100_000) {
    throw validationError(`nIter must be an integer between 1 and 100000, got ${nIter}`);
  }
  if (tol !== undefined && !(tol >= 0 && Number.isFinite(tol))) {
    throw validationError(`tol must be a finite number >= 0, got ${tol}`);
  }
}
