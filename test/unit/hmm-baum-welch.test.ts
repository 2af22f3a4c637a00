import { baumWelch } from '../../lib/hmm/baum-welch';
import { score } from '../../lib/hmm';
import type { Observations } from '../../lib/hmm/model';
import { matrix, params } from '../helpers/hmm';

/**
 * What baumWelch promises about its result, on inputs small enough to run for every
 * mutant of `npm run test:mutation`. The E-step's exact checks against brute force over
 * every state path are in hmm-forward-paths.test.ts.
 */

const obs = (xs: number[]): Observations => ({ n: xs.length, d: 1, data: Float64Array.from(xs) });
const data = obs([0.1, -0.3, 0.2, 5.1, 4.8, 5.3, 0.0, -0.2, 5.0, 4.9, 0.3, 5.2]);
const init = () =>
  params({
    startprob: [0.6, 0.4],
    transmat: matrix('0.7 0.3 | 0.4 0.6'),
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
