import { validationError } from '../errors';

/**
 * Buffers of one E-step, allocated once per fit and reused by every iteration so EM
 * does not churn the garbage collector: n×k arrays are megabytes at 100,000 points.
 */
export interface Workspace {
  readonly n: number;
  readonly k: number;
  /** Scaled emission likelihoods exp(logB - shift[t]). */
  readonly b: Float64Array;
  readonly shift: Float64Array;
  /** Filtered probabilities P(state_t | x_1..t), n×k. */
  readonly alpha: Float64Array;
  /** Smoothed posteriors P(state_t | x_1..n), n×k. */
  readonly gamma: Float64Array;
  readonly scale: Float64Array;
  /** Expected transition counts summed over time, k×k. */
  readonly xiSum: Float64Array;
  readonly tmp: Float64Array;
  readonly beta: Float64Array;
  readonly betaNext: Float64Array;
}

export function createWorkspace(n: number, k: number): Workspace {
  return {
    n,
    k,
    b: new Float64Array(n * k),
    shift: new Float64Array(n),
    alpha: new Float64Array(n * k),
    gamma: new Float64Array(n * k),
    scale: new Float64Array(n),
    xiSum: new Float64Array(k * k),
    tmp: new Float64Array(k),
    beta: new Float64Array(k),
    betaNext: new Float64Array(k),
  };
}

// A normaliser below this has lost its precision to underflow; the step is redone in log space.
const TINY = 1e-280;

/**
 * Forward-backward: fills ws.alpha (filtered), ws.gamma (smoothed), ws.xiSum and returns
 * the log-likelihood. The scaled recursion (Rabiner) is fast, multiplications only; when
 * a normaliser underflows (a transition forbidden by a zero in transmat meeting an
 * emission far in the tail) the whole pass is redone in log space, which cannot underflow.
 */
export function forwardBackward(
  logB: Float64Array,
  startprob: Float64Array,
  transmat: Float64Array,
  ws: Workspace,
): number {
  const ll = scaledForward(logB, startprob, transmat, ws);
  if (ll !== undefined && scaledBackward(transmat, ws)) return ll;
  return logSpaceForwardBackward(logB, startprob, transmat, ws, true);
}

/** Forward pass only: the log-likelihood and ws.alpha, the filtered probabilities. */
export function forward(logB: Float64Array, startprob: Float64Array, transmat: Float64Array, ws: Workspace): number {
  const ll = scaledForward(logB, startprob, transmat, ws);
  if (ll !== undefined) return ll;
  return logSpaceForwardBackward(logB, startprob, transmat, ws, false);
}

function scaledForward(logB: Float64Array, pi: Float64Array, A: Float64Array, ws: Workspace): number | undefined {
  const { n, k, b, shift, alpha, scale } = ws;
  for (let t = 0; t < n; t++) {
    const o = t * k;
    let m = logB[o];
    for (let s = 1; s < k; s++) if (logB[o + s] > m) m = logB[o + s];
    shift[t] = m;
    for (let s = 0; s < k; s++) b[o + s] = Math.exp(logB[o + s] - m);
  }
  let c = 0;
  for (let s = 0; s < k; s++) {
    const a = pi[s] * b[s];
    alpha[s] = a;
    c += a;
  }
  if (!(c > TINY)) return undefined;
  let inv = 1 / c;
  for (let s = 0; s < k; s++) alpha[s] *= inv;
  scale[0] = c;
  // Σ log c_t without a log per step: multiply the normalisers and take the log only when
  // the product nears underflow (each c_t is at least TINY, so it cannot cross it unseen).
  let product = c;
  let logSum = 0;
  let shifts = shift[0];
  for (let t = 1; t < n; t++) {
    const o = t * k;
    const p = o - k;
    c = 0;
    for (let j = 0; j < k; j++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += alpha[p + i] * A[i * k + j];
      const a = acc * b[o + j];
      alpha[o + j] = a;
      c += a;
    }
    if (!(c > TINY)) return undefined;
    inv = 1 / c;
    for (let j = 0; j < k; j++) alpha[o + j] *= inv;
    scale[t] = c;
    shifts += shift[t];
    if (product < 1e-20) {
      logSum += Math.log(product);
      product = c;
    } else {
      product *= c;
    }
  }
  return logSum + Math.log(product) + shifts;
}

function scaledBackward(A: Float64Array, ws: Workspace): boolean {
  const { n, k, b, alpha, gamma, scale, xiSum, tmp } = ws;
  let beta = ws.beta;
  let next = ws.betaNext;
  xiSum.fill(0);
  const last = (n - 1) * k;
  for (let s = 0; s < k; s++) {
    next[s] = 1;
    gamma[last + s] = alpha[last + s];
  }
  for (let t = n - 2; t >= 0; t--) {
    const o = t * k;
    const o1 = o + k;
    const invC = 1 / scale[t + 1];
    for (let j = 0; j < k; j++) tmp[j] = b[o1 + j] * next[j] * invC;
    let g = 0;
    for (let i = 0; i < k; i++) {
      const ai = alpha[o + i];
      const row = i * k;
      let acc = 0;
      for (let j = 0; j < k; j++) {
        const v = A[row + j] * tmp[j];
        acc += v;
        xiSum[row + j] += ai * v;
      }
      beta[i] = acc;
      const gi = ai * acc;
      gamma[o + i] = gi;
      g += gi;
    }
    // Σ gamma is 1 in exact arithmetic; dividing removes the rounding drift, and a
    // non-finite or zero sum means beta overflowed, so the caller goes to log space.
    if (!(g > 0 && g < Infinity)) return false;
    const invG = 1 / g;
    for (let i = 0; i < k; i++) gamma[o + i] *= invG;
    const swap = beta;
    beta = next;
    next = swap;
  }
  for (let i = 0; i < k * k; i++) if (!Number.isFinite(xiSum[i])) return false;
  return true;
}

function logSumExp(v: Float64Array, len: number): number {
  let m = -Infinity;
  for (let i = 0; i < len; i++) if (v[i] > m) m = v[i];
  if (m === -Infinity) return m;
  let s = 0;
  for (let i = 0; i < len; i++) s += Math.exp(v[i] - m);
  return m + Math.log(s);
}

/** The same pass in log space: slower (an exp per transition) but free of underflow. */
function logSpaceForwardBackward(
  logB: Float64Array,
  pi: Float64Array,
  A: Float64Array,
  ws: Workspace,
  backward: boolean,
): number {
  const { n, k, alpha, gamma, xiSum, tmp } = ws;
  const logA = A.map(Math.log);
  const la = alpha; // holds log alpha until it is turned into filtered probabilities
  for (let s = 0; s < k; s++) la[s] = Math.log(pi[s]) + logB[s];
  for (let t = 1; t < n; t++) {
    const o = t * k;
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < k; i++) tmp[i] = la[o - k + i] + logA[i * k + j];
      la[o + j] = logSumExp(tmp, k) + logB[o + j];
    }
  }
  const last = (n - 1) * k;
  const ll = logSumExp(la.subarray(last, last + k), k);
  if (ll === -Infinity || Number.isNaN(ll)) {
    throw validationError('the data has zero probability under the model: no state can emit some observation');
  }
  if (backward) {
    xiSum.fill(0);
    let lb = new Float64Array(k);
    for (let s = 0; s < k; s++) gamma[last + s] = Math.exp(la[last + s] - ll);
    for (let t = n - 2; t >= 0; t--) {
      const o = t * k;
      const o1 = o + k;
      const cur = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          const v = logA[i * k + j] + logB[o1 + j] + lb[j];
          tmp[j] = v;
          xiSum[i * k + j] += Math.exp(la[o + i] + v - ll);
        }
        cur[i] = logSumExp(tmp, k);
      }
      let g = 0;
      for (let i = 0; i < k; i++) g += gamma[o + i] = Math.exp(la[o + i] + cur[i] - ll);
      for (let i = 0; i < k; i++) gamma[o + i] /= g;
      lb = cur;
    }
  }
  for (let t = 0; t < n; t++) {
    const o = t * k;
    const z = logSumExp(la.subarray(o, o + k), k);
    for (let s = 0; s < k; s++) la[o + s] = Math.exp(la[o + s] - z);
  }
  return ll;
}
