import { AppError } from '../../lib/errors';
import {
  covarianceFloor,
  fitFrom,
  fitHmm,
  modelFromJson,
  observationsFromRows,
  score,
  type Observations,
} from '../../lib/hmm';
import { params } from '../helpers/hmm';

const series = (values: number[]): Observations => ({ n: values.length, d: 1, data: Float64Array.from(values) });
const noise = Array.from({ length: 200 }, (_, i) => Math.sin(i * 1.7) + 0.3 * Math.cos(i * 0.31));

function validationMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).type).toBe('ValidationError');
    return (err as AppError).message;
  }
  throw new Error('expected a ValidationError');
}

test.each([
  ['NaN', NaN, 'X[17][0] is NaN'],
  ['Infinity', Infinity, 'X[17][0] is Infinity'],
])('a %s in the data names its place', (_name, bad, message) => {
  const values = noise.slice();
  values[17] = bad;
  expect(validationMessage(() => fitHmm(series(values), { states: 2 }))).toContain(message);
});

test('too few observations for the states asked', () => {
  expect(validationMessage(() => fitHmm(series(noise.slice(0, 12)), { states: 3 }))).toBe(
    'too few observations for 3 state(s) with 1 feature(s) (diag covariance): need at least 15, got 12',
  );
  expect(() => fitHmm(series(noise.slice(0, 15)), { states: 3, restarts: 1 })).not.toThrow();
});

test('a constant series is refused rather than fitted with made-up variances', () => {
  expect(validationMessage(() => fitHmm(series(new Array(500).fill(0.01)), { states: 3 }))).toBe(
    'feature 0 is constant (every value is 0.01): a constant series has no regimes to find',
  );
});

test('fewer distinct observations than states', () => {
  const two = Array.from({ length: 100 }, (_, i) => (i % 2 ? 1 : -1));
  expect(validationMessage(() => fitHmm(series(two), { states: 3 }))).toBe(
    'only 2 distinct observation(s) for 3 states',
  );
});

test.each([
  [{ states: 0 }, 'states must be an integer between 1 and 32, got 0'],
  [{ states: 2.5 }, 'states must be an integer between 1 and 32, got 2.5'],
  [{ states: 2, nIter: 0 }, 'nIter must be an integer between 1 and 100000, got 0'],
  [{ states: 2, tol: -1 }, 'tol must be a finite number >= 0, got -1'],
  [{ states: 2, restarts: 0 }, 'restarts must be an integer between 1 and 1000, got 0'],
  [{ states: 2, seed: -3 }, 'seed must be an integer between 0 and 4294967295, got -3'],
  [{ states: 2, covarianceType: 'tied' as 'diag' }, "covarianceType must be 'diag' or 'full', got tied"],
])('option %j is refused', (options, message) => {
  expect(validationMessage(() => fitHmm(series(noise), options))).toBe(message);
});

test('ragged rows are refused', () => {
  expect(validationMessage(() => observationsFromRows([[1, 2], [3]]))).toBe(
    'X[1] has 1 features, expected 2 like X[0]',
  );
});

test('a model whose probabilities do not sum to one, or whose covariance is not positive-definite', () => {
  const base = {
    startprob: [0.5, 0.5],
    transmat: [
      [0.5, 0.5],
      [0.2, 0.7],
    ],
    means: [[0], [1]],
    covars: [[1], [1]],
  };
  expect(validationMessage(() => score(params(base), series(noise)))).toBe(
    'transmat row 1 must sum to 1, sums to 0.8999999999999999',
  );
  const full = {
    ...base,
    transmat: [
      [0.5, 0.5],
      [0.3, 0.7],
    ],
    means: [
      [0, 0],
      [1, 1],
    ],
    covars: [
      [
        [1, 2],
        [2, 1],
      ],
      [
        [1, 0],
        [0, 1],
      ],
    ],
  };
  expect(validationMessage(() => modelFromJson({ ...full, covarianceType: 'full' }))).toBe(
    'covars of state 0 must be positive-definite',
  );
  expect(
    validationMessage(() =>
      score(params({ ...base, transmat: full.transmat }), { n: 1, d: 2, data: new Float64Array(2) }),
    ),
  ).toBe('the data has 2 feature(s) but the model expects 1');
});

test('a stretch of identical points cannot collapse a variance to zero: the floor holds and nothing turns NaN', () => {
  // Daily returns with a flat week every so often (a halted market): a state that sits
  // on the zeros would send its variance to zero and the likelihood to infinity.
  const values = Array.from({ length: 2000 }, (_, i) => (i % 40 < 6 ? 0 : 0.01 * Math.sin(i * 2.3)));
  const obs = series(values);
  const init = params({
    startprob: [0.5, 0.5],
    transmat: [
      [0.8, 0.2],
      [0.2, 0.8],
    ],
    means: [[0], [0]],
    covars: [[1e-7], [1e-4]],
  });
  const r = fitFrom(obs, init, { nIter: 50 });
  const floor = covarianceFloor(obs)[0];
  expect(floor).toBeCloseTo(1e-3 * 4.25e-5, 9);
  expect(r.params.covars[0]).toBe(floor);
  expect(Number.isFinite(r.logLikelihood)).toBe(true);
  for (const v of [...r.params.means, ...r.params.transmat, ...r.params.startprob])
    expect(Number.isFinite(v)).toBe(true);
  const fit = fitHmm(obs, { states: 3, seed: 1, restarts: 2 });
  for (const v of fit.model.covars) expect(v).toBeGreaterThanOrEqual(floor);
});

test('collinear features keep full covariances positive-definite', () => {
  const rows = Array.from({ length: 400 }, (_, i) => {
    const x = Math.sin(i * 0.7) + (i > 200 ? 3 : 0);
    return [x, 2 * x];
  });
  const obs = observationsFromRows(rows);
  const fit = fitHmm(obs, { states: 2, covarianceType: 'full', seed: 1, restarts: 1 });
  expect(Number.isFinite(fit.logLikelihood)).toBe(true);
  expect(() => score(fit.model, obs)).not.toThrow();
});

test('a state that loses all its data keeps its parameters instead of turning NaN', () => {
  // State 1 sits a hundred standard deviations from every point: after one E-step it
  // holds no mass at all, so its mean would be 0/0.
  const init = params({
    startprob: [0.5, 0.5],
    transmat: [
      [0.9, 0.1],
      [0.1, 0.9],
    ],
    means: [[0], [100]],
    covars: [[1], [1]],
  });
  const r = fitFrom(series(noise), init, { nIter: 5 });
  expect(r.params.means[1]).toBe(100);
  expect(Array.from(r.params.transmat).every(Number.isFinite)).toBe(true);
  expect(Number.isFinite(r.logLikelihood)).toBe(true);
});
