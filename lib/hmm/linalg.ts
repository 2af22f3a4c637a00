/**
 * Cholesky factorisation of a symmetric d×d block: writes the lower factor L (A = L·Lᵀ)
 * into out and returns false when A is not positive-definite (a pivot not above zero).
 */
export function cholesky(a: Float64Array, aOffset: number, d: number, out: Float64Array, outOffset: number): boolean {
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[aOffset + i * d + j];
      for (let m = 0; m < j; m++) sum -= out[outOffset + i * d + m] * out[outOffset + j * d + m];
      if (i === j) {
        if (!(sum > 0)) return false;
        out[outOffset + i * d + i] = Math.sqrt(sum);
      } else {
        out[outOffset + i * d + j] = sum / out[outOffset + j * d + j];
      }
    }
    for (let j = i + 1; j < d; j++) out[outOffset + i * d + j] = 0;
  }
  return true;
}

/** log det A from its Cholesky factor: twice the sum of the log diagonal. */
export function logDetFromCholesky(l: Float64Array, offset: number, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += Math.log(l[offset + i * d + i]);
  return 2 * s;
}
