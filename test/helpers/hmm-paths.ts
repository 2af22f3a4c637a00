import { createWorkspace, forward, forwardBackward } from '../../lib/hmm/forward-backward';

/**
 * The E-step's answers by enumerating all k^n state paths in log space: exact where the
 * recursions underflow, and independent of them. Small models only (k^n paths).
 */
export function bruteForce(logB: number[][], pi: number[], A: number[][]) {
  const n = logB.length;
  const k = pi.length;
  const joints: { path: number[]; prefixes: number[]; lp: number }[] = [];
  for (let code = 0; code < k ** n; code++) {
    const path = Array.from({ length: n }, (_, t) => Math.floor(code / k ** t) % k);
    // prefixes[t]: log P(x_1..t, path_1..t), for the filtered probabilities.
    const prefixes = [Math.log(pi[path[0]]) + logB[0][path[0]]];
    for (let t = 1; t < n; t++) prefixes.push(prefixes[t - 1] + Math.log(A[path[t - 1]][path[t]]) + logB[t][path[t]]);
    joints.push({ path, prefixes, lp: prefixes[n - 1] });
  }
  const ll = logSumExp(joints.map((j) => j.lp));
  const best = joints.reduce((a, j) => (j.lp > a.lp ? j : a));
  const gamma = Array.from({ length: n }, () => Array<number>(k).fill(0));
  const xi = Array.from({ length: k }, () => Array<number>(k).fill(0));
  for (const { path, lp } of joints) {
    const w = Math.exp(lp - ll);
    path.forEach((s, t) => (gamma[t][s] += w));
    for (let t = 1; t < n; t++) xi[path[t - 1]][path[t]] += w;
  }
  // Every prefix appears k^(n-1-t) times among the full paths, the same for every state, so it cancels.
  const filtered = Array.from({ length: n }, (_, t) => {
    const byState = Array.from({ length: k }, (_, s) =>
      logSumExp(joints.filter((j) => j.path[t] === s).map((j) => j.prefixes[t])),
    );
    const z = logSumExp(byState);
    return byState.map((v) => Math.exp(v - z));
  });
  return { ll, gamma, xi, filtered, best: { path: best.path, logProb: best.lp } };
}

export function logSumExp(values: number[]): number {
  const top = Math.max(...values);
  if (top === -Infinity) return top;
  return top + Math.log(values.reduce((s, v) => s + Math.exp(v - top), 0));
}

const rows = (a: Float64Array, r: number, k: number) =>
  Array.from({ length: r }, (_, i) => Array.from(a.subarray(i * k, i * k + k)));

/** The module's forward-backward on plain arrays; pass a workspace to reuse one. */
export function eStep(logB: number[][], pi: number[], A: number[][], ws = createWorkspace(logB.length, pi.length)) {
  const n = logB.length;
  const k = pi.length;
  const ll = forwardBackward(Float64Array.from(logB.flat()), Float64Array.from(pi), Float64Array.from(A.flat()), ws);
  return { ll, gamma: rows(ws.gamma, n, k), xi: rows(ws.xiSum, k, k), filtered: rows(ws.alpha, n, k) };
}

/** The forward pass alone: log-likelihood and filtered probabilities. */
export function forwardOnly(
  logB: number[][],
  pi: number[],
  A: number[][],
  ws = createWorkspace(logB.length, pi.length),
) {
  const ll = forward(Float64Array.from(logB.flat()), Float64Array.from(pi), Float64Array.from(A.flat()), ws);
  return { ll, filtered: rows(ws.alpha, logB.length, pi.length) };
}

export const expectClose = (actual: number[][], expected: number[][], digits: number) =>
  actual.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], digits)));
