import { AppError } from '../../lib/errors';
import { createWorkspace } from '../../lib/hmm/forward-backward';
import { createRng } from '../../lib/hmm/prng';
import { viterbi } from '../../lib/hmm/viterbi';
import { matrix as m } from '../helpers/hmm';
import { bruteForce, eStep, expectClose, forwardOnly, logSumExp } from '../helpers/hmm-paths';

/**
 * Forward-backward against brute force over every state path, on small models chosen to
 * take each of its routes: the scaled passes, the log-space redo after the forward
 * normaliser underflows (at the first step or a later one) or the backward overflows,
 * and data the model cannot emit; Viterbi on the same models. Then the invariants of a
 * long sequence.
 */
type Case = { name: string; pi: number[]; A: number[][]; logB: number[][] };

const scaled: Case[] = [
  {
    name: 'a 3-state chain',
    pi: [0.5, 0.3, 0.2],
    A: m('0.6 0.3 0.1 | 0.2 0.5 0.3 | 0.25 0.25 0.5'),
    logB: m('-1.2 -0.3 -2.5 | -0.7 -1.9 -0.4 | -3.1 -0.2 -1.0 | -0.5 -0.9 -2.2'),
  },
  { name: 'a single observation', pi: [0.3, 0.7], A: m('0.5 0.5 | 0.5 0.5'), logB: m('-0.4 -2') },
  {
    // The likeliest state swaps every step by e^900, beyond a double's range unless each
    // step is shifted by its largest log-density.
    name: 'emissions e^900 apart, the largest in either state',
    pi: [0.5, 0.5],
    A: m('0.4 0.6 | 0.7 0.3'),
    logB: m('0 -900 | -900 -1 | -2 -900 | -900 0'),
  },
  {
    name: 'forbidden starts and transitions that data never needs',
    pi: [0, 0.5, 0.5],
    A: m('0 1 0 | 0.3 0 0.7 | 0.5 0.5 0'),
    logB: m('-1 -0.5 -2 | -0.3 -1.1 -0.9 | -2.2 -0.1 -0.6'),
  },
];

const logSpace: Case[] = [
  {
    // The one observation is e^-800 from the only state that can start: no later step would notice.
    name: 'a single observation that underflows',
    pi: [1, 0],
    A: m('0.5 0.5 | 0.5 0.5'),
    logB: m('-800 0'),
  },
  {
    // State 0 must start the chain, and its emissions are e^-800 below the others' at t = 0.
    name: 'the first normaliser underflows',
    pi: [1, 0, 0],
    A: m('0.5 0.5 0 | 0 0.5 0.5 | 0 0.2 0.8'),
    logB: m('-800 0 0 | -1.5 -0.2 -3 | -2 -1 -0.1 | -0.3 -2.5 -0.6'),
  },
  {
    // At t = 1 only state 2 fits, and no path reaches it yet: the normaliser is e^-700-small.
    name: 'a later normaliser underflows, with states no path reaches',
    pi: [1, 0, 0],
    A: m('0.9 0.1 0 | 0 0.8 0.2 | 0 0.3 0.7'),
    logB: m('0 -1 -2 | -700 -900 0 | -0.4 -0.2 -1.5 | -1 -0.3 -0.2'),
  },
  {
    // The forward pass holds (each normaliser e^-600), but the unreachable state 1's scaled
    // backward variable grows by e^600 a step and overflows: the backward pass is redone.
    name: 'the scaled backward pass overflows',
    pi: [1, 0],
    A: m('1 0 | 0.5 0.5'),
    logB: m('0 0 | -600 0 | -600 0'),
  },
];

describe.each([
  ...scaled.map((c) => ['scaled', c.name, c] as const),
  ...logSpace.map((c) => ['log-space', c.name, c] as const),
])('%s pass, %s', (_route, _name, { pi, A, logB }) => {
  const want = bruteForce(logB, pi, A);

  test('log-likelihood, filtered and smoothed posteriors and transition counts equal brute force', () => {
    const got = eStep(logB, pi, A);
    expect(got.ll).toBeCloseTo(want.ll, 9);
    expectClose(got.gamma, want.gamma, 9);
    expectClose(got.xi, want.xi, 9);
    expectClose(got.filtered, want.filtered, 9);
  });

  test('the forward pass alone gives the same log-likelihood and filtered probabilities', () => {
    const got = forwardOnly(logB, pi, A);
    expect(got.ll).toBeCloseTo(want.ll, 9);
    expectClose(got.filtered, want.filtered, 9);
  });

  test('Viterbi finds the likeliest path and its log-probability', () => {
    const got = viterbi(
      Float64Array.from(logB.flat()),
      logB.length,
      pi.length,
      Float64Array.from(pi),
      Float64Array.from(A.flat()),
    );
    expect(Array.from(got.path)).toEqual(want.best.path);
    expect(got.logProb).toBeCloseTo(want.best.logProb, 9);
  });
});

test('Viterbi breaks ties towards the lower state index, so equal inputs give equal paths', () => {
  // Every path of states 1 and 2 ties, and state 0 cannot emit: the lower index wins at each step.
  const logB = m('-Infinity -1 -1 | -Infinity -1 -1 | -Infinity -1 -1');
  const A = Float64Array.from(m('0.2 0.4 0.4 | 0.2 0.4 0.4 | 0.2 0.4 0.4').flat());
  const got = viterbi(Float64Array.from(logB.flat()), 3, 3, Float64Array.from([0.2, 0.4, 0.4]), A);
  expect(Array.from(got.path)).toEqual([1, 1, 1]);
  expect(got.logProb).toBeCloseTo(3 * Math.log(0.4) - 3, 12);
});

test('a workspace reused across routes keeps nothing of the previous call', () => {
  const [a, b] = [scaled[0], logSpace[1]];
  const ws = createWorkspace(4, 3);
  for (const c of [a, b, a, b]) {
    const got = eStep(c.logB, c.pi, c.A, ws);
    const want = bruteForce(c.logB, c.pi, c.A);
    expect(got.ll).toBeCloseTo(want.ll, 9);
    expectClose(got.xi, want.xi, 9);
    expectClose(got.gamma, want.gamma, 9);
  }
});

test('data the model cannot emit is refused with a ValidationError, from either pass', () => {
  // State 0 must start and never leaves, and it cannot emit the second observation.
  const logB = m('0 -Infinity | -Infinity 0');
  const A = m('1 0 | 0 1');
  for (const run of [() => eStep(logB, [1, 0], A), () => forwardOnly(logB, [1, 0], A)]) {
    const err = (() => {
      try {
        run();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ type: 'ValidationError', message: expect.stringContaining('zero probability') });
  }
});

describe('a long sequence (3,000 steps, 3 states): what any E-step must satisfy', () => {
  const rng = createRng(7);
  const k = 3;
  const n = 3000;
  const row = () => {
    const v = Array.from({ length: k }, () => 0.05 + rng.next());
    const s = v.reduce((a, b) => a + b, 0);
    return v.map((x) => x / s);
  };
  const pi = row();
  const A = Array.from({ length: k }, row);
  const logB = Array.from({ length: n }, () => Array.from({ length: k }, () => -3 * rng.next() - 0.5));
  const got = eStep(logB, pi, A);

  test('the log-likelihood equals a plain log-space forward recursion (thousands of orders of magnitude below 1)', () => {
    let la = pi.map((p, s) => Math.log(p) + logB[0][s]);
    for (let t = 1; t < n; t++) {
      la = la.map((_, j) => logSumExp(la.map((v, i) => v + Math.log(A[i][j]))) + logB[t][j]);
    }
    const ll = logSumExp(la);
    expect(ll).toBeLessThan(-1000);
    expect(Math.abs(got.ll - ll)).toBeLessThan(1e-9 * Math.abs(ll));
    expect(forwardOnly(logB, pi, A).ll).toBe(got.ll);
  });

  test('posteriors sum to one at every step and the transition counts add up to them', () => {
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    const worst = (rows: number[][]) => Math.max(...rows.map((r) => Math.abs(sum(r) - 1)));
    expect(worst(got.gamma)).toBeLessThan(1e-12);
    expect(worst(got.filtered)).toBeLessThan(1e-12);
    // Σ_j ξ(i, j) counts the steps leaving i: Σ over t < n-1 of γ_t(i); Σ_i ξ(i, j) those arriving in j.
    for (let i = 0; i < k; i++) {
      const leaving = sum(got.gamma.slice(0, n - 1).map((g) => g[i]));
      const arriving = sum(got.gamma.slice(1).map((g) => g[i]));
      expect(sum(got.xi[i])).toBeCloseTo(leaving, 8);
      expect(sum(got.xi.map((r) => r[i]))).toBeCloseTo(arriving, 8);
    }
    // At the last step nothing later is known: smoothed equals filtered.
    expectClose([got.gamma[n - 1]], [got.filtered[n - 1]], 12);
  });
});
