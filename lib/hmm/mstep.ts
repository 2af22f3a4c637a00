import type { HmmParams, Observations } from './model';
import type { Workspace } from './forward-backward';
import { applyFloor } from './floor';

// A state holding less expected mass than this has no data to estimate from: its
// emission parameters are kept rather than divided by (nearly) zero into NaN.
const MIN_MASS = 1e-10;

/**
 * Maximum-likelihood update from the E-step's posteriors (ws.gamma, ws.xiSum), written
 * into `next` (same shapes as `cur`). Covariances are computed around the new means in
 * a second pass, which stays accurate when the features' means dwarf their spread.
 */
export function mStep(
  obs: Observations,
  cur: HmmParams,
  next: HmmParams,
  ws: Workspace,
  floor: Float64Array,
  post: Float64Array,
  scratch: Float64Array,
): void {
  const { n, d, data } = obs;
  const { k, covarianceType } = cur;
  const { gamma, xiSum } = ws;

  let s0 = 0;
  for (let s = 0; s < k; s++) s0 += gamma[s];
  for (let s = 0; s < k; s++) next.startprob[s] = gamma[s] / s0;

  for (let i = 0; i < k; i++) {
    let row = 0;
    for (let j = 0; j < k; j++) row += xiSum[i * k + j];
    // A state never left (no expected transitions out) keeps its previous row.
    for (let j = 0; j < k; j++) {
      next.transmat[i * k + j] = row > 0 ? xiSum[i * k + j] / row : cur.transmat[i * k + j];
    }
  }

  const means = next.means;
  post.fill(0);
  means.fill(0);
  for (let t = 0; t < n; t++) {
    for (let s = 0; s < k; s++) {
      const g = gamma[t * k + s];
      post[s] += g;
      for (let j = 0; j < d; j++) means[s * d + j] += g * data[t * d + j];
    }
  }
  const keep = new Uint8Array(k);
  for (let s = 0; s < k; s++) {
    if (post[s] < MIN_MASS) keep[s] = 1;
    for (let j = 0; j < d; j++) means[s * d + j] = keep[s] ? cur.means[s * d + j] : means[s * d + j] / post[s];
  }

  const covars = next.covars;
  covars.fill(0);
  if (covarianceType === 'diag') {
    for (let t = 0; t < n; t++) {
      for (let s = 0; s < k; s++) {
        const g = gamma[t * k + s];
        for (let j = 0; j < d; j++) {
          const z = data[t * d + j] - means[s * d + j];
          covars[s * d + j] += g * z * z;
        }
      }
    }
  } else {
    const dd = d * d;
    for (let t = 0; t < n; t++) {
      for (let s = 0; s < k; s++) {
        const g = gamma[t * k + s];
        for (let i = 0; i < d; i++) {
          const gz = g * (data[t * d + i] - means[s * d + i]);
          for (let j = 0; j <= i; j++) covars[s * dd + i * d + j] += gz * (data[t * d + j] - means[s * d + j]);
        }
      }
    }
    for (let s = 0; s < k; s++) {
      for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) covars[s * dd + j * d + i] = covars[s * dd + i * d + j];
    }
  }
  const per = covars.length / k;
  for (let s = 0; s < k; s++) {
    for (let i = 0; i < per; i++)
      covars[s * per + i] = keep[s] ? cur.covars[s * per + i] : covars[s * per + i] / post[s];
    applyFloor(covars, s, d, covarianceType, floor, scratch);
  }
}
