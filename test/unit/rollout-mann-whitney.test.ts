import { erfc, mannWhitney, maxPairs } from '../../lib/rollout/mann-whitney';

/*
 * Reference figures from SciPy (scipy.stats.mannwhitneyu(x, y, method='asymptotic',
 * use_continuity=True), scipy.special.erfc) and numpy (the median of np.subtract.outer
 * for the Hodges-Lehmann shift; z = (U1 − n1·n2/2) / σ with the tie-corrected σ).
 */
const relClose = (actual: number, expected: number, rel = 1e-6) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-15);

test('no ties: U, z, the three p-values and the shift match SciPy', () => {
  const r = mannWhitney([1.1, 2.3, 3.8, 4.0, 5.6, 7.2], [0.5, 0.9, 2.0, 2.8, 3.1]);
  expect(r).toMatchObject({ n1: 6, n2: 5, u1: 25, u2: 5 });
  relClose(r.z, 1.8257418583505538);
  relClose(r.pTwoSided, 0.0828374251588063);
  relClose(r.pGreater, 0.04141871257940315);
  relClose(r.pLess, 0.972382873140968);
  expect(r.shift).toBeCloseTo(1.9, 12);
});

test('ties: half ranks, the tie-corrected z, and a negative shift', () => {
  const r = mannWhitney([1, 2, 2, 3, 3, 3, 5], [2, 3, 4, 4, 6]);
  expect(r).toMatchObject({ u1: 9.5, u2: 25.5 });
  relClose(r.z, -1.3346681071512518);
  relClose(r.pTwoSided, 0.21084278874230222);
  relClose(r.pLess, 0.10542139437115111);
  expect(r.shift).toBe(-1);
});

test('the shift of an even number of pairs is the mean of the two middle differences', () => {
  expect(mannWhitney([1, 2], [0]).shift).toBe(1.5);
  expect(mannWhitney([10], [1, 2, 3, 7]).shift).toBe(7.5);
});

test(`the shift is computed up to ${maxPairs} pairs and left out beyond`, () => {
  const side = (n: number, offset: number) => Array.from({ length: n }, (_, i) => i + offset);
  expect(mannWhitney(side(500, 1), side(500, 0)).shift).toBe(1);
  expect(mannWhitney(side(501, 1), side(500, 0)).shift).toBeUndefined();
});

test('an empty side on either hand is refused, naming both sizes', () => {
  expect(() => mannWhitney([1], [])).toThrow('Mann-Whitney needs samples on both sides, got 1 and 0');
});

test('erfc matches SciPy on both sides of 0', () => {
  const ref: [number, number][] = [
    [-2.5, 1.999593047982555],
    [-1, 1.8427007929497148],
    [-0.3, 1.3286267594591274],
    [0, 1],
    [0.3, 0.6713732405408726],
    [1, 0.15729920705028516],
    [2.5, 0.00040695201744495886],
  ];
  for (const [x, want] of ref) relClose(erfc(x), want, 2e-7);
});
