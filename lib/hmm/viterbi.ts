/**
 * Most likely state path (Viterbi) in log space, from emission log-likelihoods n×k.
 * Ties keep the lower state index, so equal inputs give equal paths.
 */
export function viterbi(
  logB: Float64Array,
  n: number,
  k: number,
  startprob: Float64Array,
  transmat: Float64Array,
): { path: Int32Array; logProb: number } {
  const logA = transmat.map(Math.log);
  const back = new Int32Array(n * k);
  let prev = new Float64Array(k);
  let cur = new Float64Array(k);
  for (let s = 0; s < k; s++) prev[s] = Math.log(startprob[s]) + logB[s];
  for (let t = 1; t < n; t++) {
    for (let j = 0; j < k; j++) {
      let best = prev[0] + logA[j];
      let arg = 0;
      for (let i = 1; i < k; i++) {
        const v = prev[i] + logA[i * k + j];
        if (v > best) {
          best = v;
          arg = i;
        }
      }
      cur[j] = best + logB[t * k + j];
      back[t * k + j] = arg;
    }
    const swap = prev;
    prev = cur;
    cur = swap;
  }
  let last = 0;
  for (let s = 1; s < k; s++) if (prev[s] > prev[last]) last = s;
  const path = new Int32Array(n);
  path[n - 1] = last;
  for (let t = n - 1; t > 0; t--) path[t - 1] = back[t * k + path[t]];
  return { path, logProb: prev[last] };
}
