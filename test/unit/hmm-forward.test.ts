import { createWorkspace, forward, forwardBackward } from '../../lib/hmm/forward-backward';
import { viterbi } from '../../lib/hmm/viterbi';
import { decode, filtered, posteriors, score } from '../../lib/hmm';
import { params } from '../helpers/hmm';

// The textbook two-state example (healthy/fever; observations normal, cold, dizzy):
// forward by hand α1 = [.3, .04], α2 = [.0904, .0342], α3 = [.007696, .028584], so
// P(obs) = .03628; the Viterbi path is healthy, healthy, fever with probability .01512.
const pi = Float64Array.from([0.6, 0.4]);
const A = Float64Array.from([0.7, 0.3, 0.4, 0.6]);
const emit = [
  [0.5, 0.1],
  [0.4, 0.3],
  [0.1, 0.6],
];
const logB = Float64Array.from(emit.flat().map(Math.log));

test('forward log-likelihood of the textbook example is ln .03628', () => {
  const ws = createWorkspace(3, 2);
  expect(forward(logB, pi, A, ws)).toBeCloseTo(Math.log(0.03628), 12);
  // Filtered probabilities are the normalised forward variables.
  expect(ws.alpha[4]).toBeCloseTo(0.007696 / 0.03628, 12);
  expect(ws.alpha[1]).toBeCloseTo(0.04 / 0.34, 12);
});

test('forward-backward gives the same likelihood and smoothed posteriors that sum to one', () => {
  const ws = createWorkspace(3, 2);
  expect(forwardBackward(logB, pi, A, ws)).toBeCloseTo(Math.log(0.03628), 12);
  // β2 = A·(b3 ⊙ 1) = [.7*.1 + .3*.6, .4*.1 + .6*.6] = [.25, .4]; γ2 ∝ α2 ⊙ β2.
  const g = [0.0904 * 0.25, 0.0342 * 0.4];
  expect(ws.gamma[2]).toBeCloseTo(g[0] / (g[0] + g[1]), 12);
  for (let t = 0; t < 3; t++) expect(ws.gamma[2 * t] + ws.gamma[2 * t + 1]).toBeCloseTo(1, 14);
  // Expected transitions: two steps in all.
  expect(ws.xiSum.reduce((a, b) => a + b, 0)).toBeCloseTo(2, 12);
});

test('Viterbi finds healthy, healthy, fever with probability .01512', () => {
  const { path, logProb } = viterbi(logB, 3, 2, pi, A);
  expect(Array.from(path)).toEqual([0, 0, 1]);
  expect(logProb).toBeCloseTo(Math.log(0.01512), 12);
});

const normalPdf = (x: number, m: number, v: number) => Math.exp(-((x - m) ** 2) / (2 * v)) / Math.sqrt(2 * Math.PI * v);

test('Gaussian score equals the unscaled forward recursion on explicit densities', () => {
  const model = params({
    startprob: [0.3, 0.7],
    transmat: [
      [0.8, 0.2],
      [0.1, 0.9],
    ],
    means: [[0], [1.5]],
    covars: [[0.5], [2]],
  });
  const xs = [0.2, -0.4, 1.9, 2.5, 0.1];
  let alpha = [0.3 * normalPdf(xs[0], 0, 0.5), 0.7 * normalPdf(xs[0], 1.5, 2)];
  for (const x of xs.slice(1)) {
    alpha = [
      (alpha[0] * 0.8 + alpha[1] * 0.1) * normalPdf(x, 0, 0.5),
      (alpha[0] * 0.2 + alpha[1] * 0.9) * normalPdf(x, 1.5, 2),
    ];
  }
  const obs = { n: xs.length, d: 1, data: Float64Array.from(xs) };
  expect(score(model, obs)).toBeCloseTo(Math.log(alpha[0] + alpha[1]), 12);
});

test('full covariance density matches the closed form of a 2-D Gaussian', () => {
  const [s11, s12, s22] = [2, 0.6, 1];
  const model = params(
    {
      startprob: [1],
      transmat: [[1]],
      means: [[1, -1]],
      covars: [
        [
          [s11, s12],
          [s12, s22],
        ],
      ],
    },
    'full',
  );
  const x = [0.3, 0.4];
  const det = s11 * s22 - s12 * s12;
  const [a, b] = [x[0] - 1, x[1] + 1];
  const q = (s22 * a * a - 2 * s12 * a * b + s11 * b * b) / det;
  const expected = -Math.log(2 * Math.PI) - 0.5 * Math.log(det) - 0.5 * q;
  expect(score(model, { n: 1, d: 2, data: Float64Array.from(x) })).toBeCloseTo(expected, 12);
});

test('an underflowing scaled pass falls back to log space and keeps the exact likelihood', () => {
  // State 1 fits every point, but the chain starts in state 0 and can never leave it:
  // the scaled normaliser is exp(-5000)-small and underflows to zero.
  const model = params({
    startprob: [1, 0],
    transmat: [
      [1, 0],
      [0, 1],
    ],
    means: [[0], [100]],
    covars: [[1], [1]],
  });
  const xs = [100, 101, 99];
  const obs = { n: 3, d: 1, data: Float64Array.from(xs) };
  const expected = xs.reduce((s, x) => s - 0.5 * Math.log(2 * Math.PI) - 0.5 * x * x, 0);
  expect(score(model, obs)).toBeCloseTo(expected, 9);
  const post = posteriors(model, obs);
  expect(post.logLikelihood).toBeCloseTo(expected, 9);
  expect(Array.from(post.smoothed)).toEqual([1, 0, 1, 0, 1, 0]);
  expect(Array.from(decode(model, obs).path)).toEqual([0, 0, 0]);
});

test('filtered probabilities at t ignore later observations; smoothed ones do not', () => {
  const model = params({
    startprob: [0.5, 0.5],
    transmat: [
      [0.9, 0.1],
      [0.1, 0.9],
    ],
    means: [[0], [3]],
    covars: [[1], [1]],
  });
  const a = { n: 4, d: 1, data: Float64Array.from([0.1, 1.4, 0.2, -0.3]) };
  const b = { n: 4, d: 1, data: Float64Array.from([0.1, 1.4, 3.2, 3.5]) };
  const fa = filtered(model, a).filtered;
  const fb = filtered(model, b).filtered;
  expect(Array.from(fb.subarray(0, 4))).toEqual(Array.from(fa.subarray(0, 4)));
  const sa = posteriors(model, a).smoothed;
  const sb = posteriors(model, b).smoothed;
  expect(Math.abs(sb[2] - sa[2])).toBeGreaterThan(0.05);
  // At the last observation, filtering and smoothing agree.
  expect(sa[6]).toBeCloseTo(fa[6], 12);
});
