import { baumWelch } from '../../lib/hmm/baum-welch';
import { createWorkspace, forwardBackward } from '../../lib/hmm/forward-backward';
import { score } from '../../lib/hmm';
import type { Observations } from '../../lib/hmm/model';
import { params } from '../helpers/hmm';

/**
 * Small, exact checks of the E-step and of EM, fast enough to run for every mutant of
 * `npm run test:mutation`: posteriors against brute force over every state path, and
 * what baumWelch promises about its result.
 */

/** γ, Σξ and the log-likelihood by enumerating all k^n state paths (log-sum-exp: exact where the recursion underflows). */
function bruteForce(logB: number[][], pi: number[], A: number[][]) {
  const n = logB.length;
  const k = pi.length;
  const joints: { path: number[]; lp: number }[] = [];
  for (let code = 0; code < k ** n; code++) {
    const path = Array.from({ length: n }, (_, t) => Math.floor(code / k ** t) % k);
    let lp = Math.log(pi[path[0]]) + logB[0][path[0]];
    for (let t = 1; t < n; t++) lp += Math.log(A[path[t - 1]][path[t]]) + logB[t][path[t]];
    joints.push({ path, lp });
  }
  const top = Math.max(...joints.map((j) => j.lp));
  const ll = top + Math.log(joints.reduce((s, j) => s + Math.exp(j.lp - top), 0));
  const gamma = Array.from({ length: n }, () => Array(k).fill(0));
  const xi = Array.from({ length: k }, () => Array(k).fill(0));
  for (const { path, lp } of joints) {
    const w = Math.exp(lp - ll);
    path.forEach((s, t) => (gamma[t][s] += w));
    for (let t = 1; t < n; t++) xi[path[t - 1]][path[t]] += w;
  }
  return { ll, gamma, xi };
}

function eStep(logB: number[][], pi: number[], A: number[][]) {
  const n = logB.length;
  const k = pi.length;
  const ws = createWorkspace(n, k);
  const ll = forwardBackward(Float64Array.from(logB.flat()), Float64Array.from(pi), Float64Array.from(A.flat()), ws);
  const rows = (a: Float64Array, r: number) =>
    Array.from({ length: r }, (_, i) => Array.from(a.subarray(i * k, i * k + k)));
  return { ll, gamma: rows(ws.gamma, n), xi: rows(ws.xiSum, k) };
}

const expectClose = (actual: number[][], expected: number[][], digits: number) =>
  actual.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], digits)));

test('the scaled E-step gives the exact posteriors and transition counts of a 3-state chain', () => {
  const pi = [0.5, 0.3, 0.2];
  const A = [
    [0.6, 0.3, 0.1],
    [0.2, 0.5, 0.3],
    [0.25, 0.25, 0.5],
  ];
  const logB = [
    [-1.2, -0.3, -2.5],
    [-0.7, -1.9, -0.4],
    [-3.1, -0.2, -1.0],
    [-0.5, -0.9, -2.2],
  ];
  const got = eStep(logB, pi, A);
  const want = bruteForce(logB, pi, A);
  expect(got.ll).toBeCloseTo(want.ll, 12);
  expectClose(got.gamma, want.gamma, 12);
  expectClose(got.xi, want.xi, 12);
});

test('when the scaled pass underflows, the log-space pass gives the same exact posteriors', () => {
  // The chain must start in state 0, whose emissions are e^-800 below the others' at t = 0:
  // the scaled normaliser underflows to 0 and the pass is redone in log space.
  const pi = [1, 0, 0];
  const A = [
    [0.5, 0.5, 0],
    [0, 0.5, 0.5],
    [0, 0.2, 0.8],
  ];
  const logB = [
    [-800, 0, 0],
    [-1.5, -0.2, -3],
    [-2, -1, -0.1],
    [-0.3, -2.5, -0.6],
  ];
  const got = eStep(logB, pi, A);
  const want = bruteForce(logB, pi, A);
  expect(got.ll).toBeCloseTo(want.ll, 9);
  expectClose(got.gamma, want.gamma, 9);
  expectClose(got.xi, want.xi, 9);
});

const obs = (xs: number[]): Observations => ({ n: xs.length, d: 1, data: Float64Array.from(xs) });
const data = obs([0.1, -0.3, 0.2, 5.1, 4.8, 5.3, 0.0, -0.2, 5.0, 4.9, 0.3, 5.2]);
const init = () =>
  params({
    startprob: [0.6, 0.4],
    transmat: [
      [0.7, 0.3],
      [0.4, 0.6],
    ],
    means: [[1], [3]],
    covars: [[2], [2]],
  });
const floor = Float64Array.from([1e-6]);

test('no M-step lowers the likelihood, and the result is scored by the parameters it returns', () => {
  const calls: [number, number][] = [];
  const r = baumWelch(data, init(), { nIter: 5, floor, onIteration: (i, ll) => calls.push([i, ll]) });
  expect(r.iterations).toBe(5);
  expect(r.converged).toBe(false);
  expect(r.history).toHaveLength(6);
  expect(r.history[0]).toBeCloseTo(score(init(), data), 12);
  expect(r.history[1]).toBeGreaterThan(r.history[0]);
  for (let i = 1; i < r.history.length; i++) expect(r.history[i]).toBeGreaterThanOrEqual(r.history[i - 1]);
  expect(r.logLikelihood).toBe(r.history[5]);
  expect(score(r.params, data)).toBeCloseTo(r.logLikelihood, 12);
  expect(calls).toEqual(r.history.map((ll, i) => [i, ll]));
  // The two clusters, near 0 and near 5, are found.
  expect(Array.from(r.params.means).map((m) => Math.round(m))).toEqual([0, 5]);
});

test('no iteration returns a copy of the initial model with its score', () => {
  const start = init();
  const r = baumWelch(data, start, { nIter: 0, floor });
  expect(r).toMatchObject({ iterations: 0, converged: false });
  expect(r.params).not.toBe(start);
  expect(Array.from(r.params.means)).toEqual([1, 3]);
  expect(r.logLikelihood).toBeCloseTo(score(start, data), 12);
});

test('with a tolerance EM stops at the first gain below it, converged, keeping the last model scored', () => {
  const free = baumWelch(data, init(), { nIter: 50, floor });
  const gains = free.history.slice(1).map((ll, i) => ll - free.history[i]);
  const tol = 1e-3;
  const stopAt = gains.findIndex((g) => g < tol) + 1;
  expect(stopAt).toBeGreaterThan(1);
  const r = baumWelch(data, init(), { nIter: 50, tol, floor });
  expect(r).toMatchObject({ converged: true, iterations: stopAt });
  expect(r.history).toEqual(free.history.slice(0, stopAt + 1));
  expect(score(r.params, data)).toBeCloseTo(r.logLikelihood, 12);
  // A gain equal to the tolerance is not below it: the fit goes on.
  const exact = baumWelch(data, init(), { nIter: 50, tol: gains[0], floor });
  expect(exact.iterations).toBeGreaterThan(1);
});

test('one state: a single M-step gives the sample mean and variance', () => {
  const xs = [1, 2, 4, 7];
  const one = params({ startprob: [1], transmat: [[1]], means: [[0]], covars: [[1]] });
  const r = baumWelch(obs(xs), one, { nIter: 1, floor });
  expect(r.params.means[0]).toBeCloseTo(3.5, 12);
  expect(r.params.covars[0]).toBeCloseTo(((1 - 3.5) ** 2 + (2 - 3.5) ** 2 + (4 - 3.5) ** 2 + (7 - 3.5) ** 2) / 4, 12);
});
