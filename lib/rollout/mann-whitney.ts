/**
 * The Mann-Whitney U test (Wilcoxon rank-sum) by its normal approximation, with the
 * tie correction and a continuity correction of ½, the same choices as SciPy's
 * `mannwhitneyu(method='asymptotic')`, so its figures can be checked there. Kayenta
 * judges canaries with this test because latencies and error rates are far from normal.
 */

export interface MannWhitneyResult {
  /** Sample sizes: canary (x) and baseline (y). */
  n1: number;
  n2: number;
  /** U of the canary: pairs where the canary is larger, ties counting ½. u1 + u2 = n1·n2. */
  u1: number;
  u2: number;
  /** Standardised U of the canary without continuity correction: positive when the canary tends higher. */
  z: number;
  /** Two-sided p-value, and one-sided ones for "canary higher" and "canary lower". */
  pTwoSided: number;
  pGreater: number;
  pLess: number;
  /** Hodges-Lehmann shift (median of canary − baseline differences); absent above `maxPairs` pairs. */
  shift?: number;
}

/** Pairs above which the Hodges-Lehmann shift is not computed: it is quadratic in the samples. */
export const maxPairs = 250_000;

export function mannWhitney(canary: readonly number[], baseline: readonly number[]): MannWhitneyResult {
  const n1 = canary.length;
  const n2 = baseline.length;
  if (n1 === 0 || n2 === 0) throw new Error(`Mann-Whitney needs samples on both sides, got ${n1} and ${n2}`);
  const n = n1 + n2;
  const pooled = [...canary.map((v) => ({ v, canary: true })), ...baseline.map((v) => ({ v, canary: false }))].sort(
    (a, b) => a.v - b.v,
  );
  let rankSum1 = 0;
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && pooled[j + 1].v === pooled[i].v) j++;
    const rank = (i + j + 2) / 2; // average of ranks i+1 … j+1
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if (pooled[k].canary) rankSum1 += rank;
    i = j + 1;
  }
  const u1 = rankSum1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const mu = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const result: MannWhitneyResult = { n1, n2, u1, u2, z: 0, pTwoSided: 1, pGreater: 1, pLess: 1 };
  if (sigma > 0) {
    result.z = (u1 - mu) / sigma;
    result.pGreater = normalSf((u1 - mu - 0.5) / sigma);
    result.pLess = normalSf((u2 - mu - 0.5) / sigma);
    result.pTwoSided = Math.min(1, 2 * normalSf((Math.max(u1, u2) - mu - 0.5) / sigma));
  }
  if (n1 * n2 <= maxPairs) result.shift = hodgesLehmann(canary, baseline);
  return result;
}

function hodgesLehmann(x: readonly number[], y: readonly number[]): number {
  const diffs = new Float64Array(x.length * y.length);
  let k = 0;
  for (const a of x) for (const b of y) diffs[k++] = a - b;
  diffs.sort();
  const mid = diffs.length >> 1;
  return diffs.length % 2 ? diffs[mid] : (diffs[mid - 1] + diffs[mid]) / 2;
}

/** P(Z > z) for a standard normal Z. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * The complementary error function by the Chebyshev fit of Numerical Recipes (erfcc):
 * relative error under 1.2e-7 everywhere, ample for a p-value compared with 0.05.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
