/** Small descriptive statistics for the judge and the built-in metrics. */

export const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export const median = (xs: readonly number[]) => quantile(xs, 0.5);

/**
 * The q-quantile by linear interpolation between order statistics (NumPy's default,
 * Hyndman-Fan type 7), so a p95 here is the p95 a reader computes with NumPy.
 */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
