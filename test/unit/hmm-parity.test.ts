import { fitFrom, modelToJson, sampleHmm, score, decode, type HmmParams } from '../../lib/hmm';
import { hmmlearn, params, relDiff } from '../helpers/hmm';

/**
 * Parity with hmmlearn 0.3 (the project's venv): from the same initial parameters and
 * for the same number of Baum-Welch iterations, both engines reach the same
 * log-likelihood. hmmlearn runs with init_params='' and no priors (covars_prior=0), the
 * maximum-likelihood estimator this engine computes.
 */
const rowsOf = (obs: { n: number; d: number; data: Float64Array }) =>
  Array.from({ length: obs.n }, (_, t) => Array.from(obs.data.subarray(t * obs.d, (t + 1) * obs.d)));

const truthDiag = params({
  startprob: [0.6, 0.3, 0.1],
  transmat: [
    [0.96, 0.03, 0.01],
    [0.05, 0.9, 0.05],
    [0.02, 0.08, 0.9],
  ],
  means: [
    [0.0005, 0.01],
    [0.0, 0.02],
    [-0.002, 0.04],
  ],
  covars: [
    [4e-5, 1e-5],
    [1.5e-4, 3e-5],
    [9e-4, 1e-4],
  ],
});

// A deliberately poor start, so EM has work to do for every iteration compared.
const startDiag = params({
  startprob: [1 / 3, 1 / 3, 1 / 3],
  transmat: [
    [0.8, 0.1, 0.1],
    [0.1, 0.8, 0.1],
    [0.1, 0.1, 0.8],
  ],
  means: [
    [0.001, 0.012],
    [0.0, 0.02],
    [-0.001, 0.03],
  ],
  covars: [
    [1e-4, 5e-5],
    [2e-4, 5e-5],
    [4e-4, 5e-5],
  ],
});

const truthFull = params(
  {
    startprob: [0.5, 0.5],
    transmat: [
      [0.95, 0.05],
      [0.1, 0.9],
    ],
    means: [
      [0, 1],
      [2, -1],
    ],
    covars: [
      [
        [1, 0.5],
        [0.5, 1.5],
      ],
      [
        [0.6, -0.2],
        [-0.2, 0.4],
      ],
    ],
  },
  'full',
);

const startFull = params(
  {
    startprob: [0.5, 0.5],
    transmat: [
      [0.7, 0.3],
      [0.3, 0.7],
    ],
    means: [
      [0.5, 0.5],
      [1.5, -0.5],
    ],
    covars: [
      [
        [2, 0],
        [0, 2],
      ],
      [
        [1, 0.1],
        [0.1, 1],
      ],
    ],
  },
  'full',
);

function compareFit(truth: HmmParams, start: HmmParams, n: number, nIter: number) {
  const { obs } = sampleHmm(truth, n, 21);
  const ours = fitFrom(obs, start, { nIter });
  const ref = hmmlearn('fit', { X: rowsOf(obs), ...modelToJson(start), nIter });
  expect(ours.iterations).toBe(nIter);
  // history[i] is the log-likelihood after i M-steps in both; hmmlearn's last one is its score().
  expect(ref.history.length).toBe(nIter);
  ref.history.forEach((ll: number, i: number) => expect(relDiff(ours.history[i], ll)).toBeLessThan(1e-6));
  expect(relDiff(ours.logLikelihood, ref.logLikelihood)).toBeLessThan(1e-6);
  // The fits moved well away from the start: equality is not two untouched models agreeing.
  expect(ours.logLikelihood - ours.history[0]).toBeGreaterThan(10);
  const means = Array.from(ours.params.means);
  ref.model.means
    .flat()
    .forEach((m: number, i: number) => expect(Math.abs(means[i] - m)).toBeLessThan(1e-6 * Math.max(1, Math.abs(m))));
}

test('diag: the same log-likelihood as hmmlearn after each of 25 iterations on 3,000 points', () => {
  compareFit(truthDiag, startDiag, 3000, 25);
});

test('full: the same log-likelihood as hmmlearn after each of 25 iterations on 2,000 points', () => {
  compareFit(truthFull, startFull, 2000, 25);
});

test('score of a known model is hmmlearn’s forward log-likelihood to 1e-9, and Viterbi agrees', () => {
  for (const truth of [truthDiag, truthFull]) {
    const { obs } = sampleHmm(truth, 5000, 8);
    const ref = hmmlearn('score', { X: rowsOf(obs), model: modelToJson(truth) });
    expect(relDiff(score(truth, obs), ref.logLikelihood)).toBeLessThan(1e-9);
    expect(Array.from(decode(truth, obs).path)).toEqual(ref.states);
  }
});
