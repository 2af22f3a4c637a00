import type { CovarianceType, HmmParams, Observations } from './model';
import type { Rng } from './prng';
import { kmeans } from './kmeans';
import { applyFloor } from './floor';
import { emptyParams } from './params';

/**
 * What k-means clusters: the features alone, or the features beside each one's local
 * dispersion. Market regimes differ mostly in volatility, not in mean; clustering raw
 * returns splits them into negative, flat and positive days and EM rarely climbs out of
 * that start, whereas clustering on local dispersion starts from calm and turbulent
 * stretches. Restarts alternate between the two and the likelihood decides.
 */
export type InitStrategy = 'features' | 'dispersion';

// Half-width of the centred window over which local dispersion is measured.
const DISPERSION_HALF_WIDTH = 5;

/**
 * Initial model from a k-means++ clustering: each state starts at its cluster's mean and
 * covariance (the whole series' when the cluster is too small to estimate one), the
 * transitions from the cluster sequence with one pseudo-count per cell so none starts at
 * zero (EM never revives a zero transition), and a uniform start.
 */
export function initialParams(
  obs: Observations,
  k: number,
  covarianceType: CovarianceType,
  rng: Rng,
  floor: Float64Array,
  strategy: InitStrategy = 'features',
): HmmParams {
  const { n, d, data } = obs;
  const labels = kmeans(strategy === 'features' ? obs : withDispersion(obs), k, rng);
  const p = emptyParams(k, d, covarianceType);
  p.startprob.fill(1 / k);

  const counts = new Float64Array(k * k).fill(1);
  for (let t = 1; t < n; t++) counts[labels[t - 1] * k + labels[t]]++;
  for (let i = 0; i < k; i++) {
    let row = 0;
    for (let j = 0; j < k; j++) row += counts[i * k + j];
    for (let j = 0; j < k; j++) p.transmat[i * k + j] = counts[i * k + j] / row;
  }

  const size = new Float64Array(k);
  for (let t = 0; t < n; t++) {
    const c = labels[t];
    size[c]++;
    for (let j = 0; j < d; j++) p.means[c * d + j] += data[t * d + j];
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) p.means[c * d + j] /= size[c];

  const global = covariance(
    obs,
    null,
    0,
    Float64Array.from({ length: d }, (_, j) => mean(obs, j)),
    covarianceType,
  );
  const scratch = new Float64Array(d * d);
  const per = covarianceType === 'diag' ? d : d * d;
  for (let c = 0; c < k; c++) {
    const own =
      size[c] > d + 1 ? covariance(obs, labels, c, p.means.subarray(c * d, c * d + d), covarianceType) : global;
    p.covars.set(own, c * per);
    applyFloor(p.covars, c, d, covarianceType, floor, scratch);
  }
  return p;
}

function mean(obs: Observations, j: number): number {
  let s = 0;
  for (let t = 0; t < obs.n; t++) s += obs.data[t * obs.d + j];
  return s / obs.n;
}

/** Covariance (diag: variances) of the points labelled c, or of all points when labels is null. */
function covariance(
  obs: Observations,
  labels: Int32Array | null,
  c: number,
  mu: Float64Array,
  covarianceType: CovarianceType,
): Float64Array {
  const { n, d, data } = obs;
  const out = new Float64Array(covarianceType === 'diag' ? d : d * d);
  let count = 0;
  for (let t = 0; t < n; t++) {
    if (labels && labels[t] !== c) continue;
    count++;
    for (let i = 0; i < d; i++) {
      const zi = data[t * d + i] - mu[i];
      if (covarianceType === 'diag') out[i] += zi * zi;
      else for (let j = 0; j < d; j++) out[i * d + j] += zi * (data[t * d + j] - mu[j]);
    }
  }
  for (let i = 0; i < out.length; i++) out[i] /= count;
  return out;
}

/**
 * The features plus, for each, the log of its root mean square deviation from the
 * series mean over a centred window (an initialisation may look ahead; a fit does not
 * depend on it beyond its starting point).
 */
function withDispersion(obs: Observations): Observations {
  const { n, d, data } = obs;
  const out = new Float64Array(n * 2 * d);
  const h = DISPERSION_HALF_WIDTH;
  for (let j = 0; j < d; j++) {
    const mu = mean(obs, j);
    const sq = new Float64Array(n + 1);
    for (let t = 0; t < n; t++) sq[t + 1] = sq[t] + (data[t * d + j] - mu) ** 2;
    const scale = sq[n] / n;
    for (let t = 0; t < n; t++) {
      const lo = Math.max(0, t - h);
      const hi = Math.min(n, t + h + 1);
      // A tiny share of the overall variance keeps the log finite over a flat stretch.
      const v = (sq[hi] - sq[lo]) / (hi - lo) + 1e-6 * scale;
      out[t * 2 * d + j] = data[t * d + j];
      out[t * 2 * d + d + j] = 0.5 * Math.log(v);
    }
  }
  return { n, d: 2 * d, data: out };
}
