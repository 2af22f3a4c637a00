import type { HmmParams } from './model';
import { emptyParams } from './params';

/**
 * Names for states ordered from calmest to most volatile: low-vol, mid-vol, high-vol
 * for three; low-vol, high-vol for two; numbered mid-vol-1.. between the ends for more.
 */
export function volatilityLabels(k: number): string[] {
  if (k === 1) return ['single-vol'];
  if (k === 2) return ['low-vol', 'high-vol'];
  if (k === 3) return ['low-vol', 'mid-vol', 'high-vol'];
  return ['low-vol', ...Array.from({ length: k - 2 }, (_, i) => `mid-vol-${i + 1}`), 'high-vol'];
}

/**
 * Each state's volatility: the sum of its variances, each divided by the feature's
 * variance over the series (`scale`), so features on different scales weigh alike. For
 * one feature (returns) this is just the variance.
 */
export function stateVolatility(p: HmmParams, scale: Float64Array): Float64Array {
  const { k, d, covars, covarianceType } = p;
  const out = new Float64Array(k);
  for (let s = 0; s < k; s++) {
    for (let j = 0; j < d; j++) {
      const v = covarianceType === 'diag' ? covars[s * d + j] : covars[s * d * d + j * d + j];
      out[s] += v / scale[j];
    }
  }
  return out;
}

/** order[i] is the old index of the state that becomes state i: calmest first, ties by old index. */
export function volatilityOrder(p: HmmParams, scale: Float64Array): Int32Array {
  const vol = stateVolatility(p, scale);
  return Int32Array.from({ length: p.k }, (_, i) => i).sort((a, b) => vol[a] - vol[b] || a - b);
}

/** The same model with its states renumbered: new state i is old state order[i]. */
export function permuteStates(p: HmmParams, order: Int32Array): HmmParams {
  const { k, d, covarianceType } = p;
  const q = emptyParams(k, d, covarianceType);
  const per = p.covars.length / k;
  for (let i = 0; i < k; i++) {
    const oi = order[i];
    q.startprob[i] = p.startprob[oi];
    for (let j = 0; j < k; j++) q.transmat[i * k + j] = p.transmat[oi * k + order[j]];
    q.means.set(p.means.subarray(oi * d, oi * d + d), i * d);
    q.covars.set(p.covars.subarray(oi * per, oi * per + per), i * per);
  }
  return q;
}
