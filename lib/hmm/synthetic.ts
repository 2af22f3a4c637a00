import { validationError } from '../errors';
import type { HmmParams, Observations } from './model';
import type { Bar } from './features';
import { cholesky } from './linalg';
import { createRng, type Rng } from './prng';
import { validateParams } from './validate';

/** Draws n observations and their hidden states from a model, reproducibly from the seed. */
export function sampleHmm(p: HmmParams, n: number, seed: number): { obs: Observations; states: Int32Array } {
  validateParams(p);
  if (!Number.isInteger(n) || n < 1) throw validationError(`n must be a positive integer, got ${n}`);
  const { k, d } = p;
  const rng = createRng(seed);
  // Per-state factor to colour standard normals: sqrt of variances, or the Cholesky factor.
  const factor = new Float64Array(k * d * d);
  for (let s = 0; s < k; s++) {
    if (p.covarianceType === 'diag')
      for (let j = 0; j < d; j++) factor[s * d * d + j * d + j] = Math.sqrt(p.covars[s * d + j]);
    else cholesky(p.covars, s * d * d, d, factor, s * d * d);
  }
  const states = new Int32Array(n);
  const data = new Float64Array(n * d);
  const z = new Float64Array(d);
  let s = draw(rng, p.startprob, 0, k);
  for (let t = 0; t < n; t++) {
    if (t > 0) s = draw(rng, p.transmat, s * k, k);
    states[t] = s;
    for (let j = 0; j < d; j++) z[j] = rng.normal();
    for (let i = 0; i < d; i++) {
      let v = p.means[s * d + i];
      for (let j = 0; j <= i; j++) v += factor[s * d * d + i * d + j] * z[j];
      data[t * d + i] = v;
    }
  }
  return { obs: { n, d, data }, states };
}

function draw(rng: Rng, probs: Float64Array, offset: number, k: number): number {
  let u = rng.next();
  for (let s = 0; s < k - 1; s++) {
    u -= probs[offset + s];
    if (u < 0) return s;
  }
  return k - 1;
}

export interface Regime {
  /** Mean daily log return. */
  readonly drift: number;
  /** Standard deviation of the daily log return. */
  readonly volatility: number;
}

/** Calm, normal and turbulent markets with daily returns' usual magnitudes. */
export const DEFAULT_REGIMES: readonly Regime[] = [
  { drift: 0.0006, volatility: 0.006 },
  { drift: 0.0002, volatility: 0.012 },
  { drift: -0.0015, volatility: 0.03 },
];

/** Regimes last weeks to months: expected durations of 50, 25 and 20 days. */
export const DEFAULT_TRANSMAT: readonly (readonly number[])[] = [
  [0.98, 0.015, 0.005],
  [0.02, 0.96, 0.02],
  [0.01, 0.04, 0.95],
];

export interface SyntheticBarsOptions {
  readonly n: number;
  readonly seed: number;
  readonly regimes?: readonly Regime[];
  readonly transmat?: readonly (readonly number[])[];
  readonly startPrice?: number;
  /** Epoch milliseconds of the first bar; default 2020-01-01T00:00:00Z. */
  readonly startTime?: number;
  readonly stepMs?: number;
}

/**
 * Daily OHLCV bars whose close-to-close log returns follow a regime-switching Gaussian
 * HMM, for demos and tests (no market data is downloaded). The hidden regime of each
 * bar is returned beside it so a test can check what a fit recovers.
 */
export function syntheticBars(options: SyntheticBarsOptions): { bars: Bar[]; states: Int32Array } {
  const regimes = options.regimes ?? DEFAULT_REGIMES;
  const k = regimes.length;
  const transmat = options.transmat ?? DEFAULT_TRANSMAT;
  if (transmat.length !== k)
    throw validationError(`transmat must have ${k} rows, one per regime, got ${transmat.length}`);
  const p: HmmParams = {
    k,
    d: 1,
    covarianceType: 'diag',
    startprob: new Float64Array(k).fill(1 / k),
    transmat: Float64Array.from(transmat.flat()),
    means: Float64Array.from(regimes, (r) => r.drift),
    covars: Float64Array.from(regimes, (r) => r.volatility ** 2),
  };
  const { obs, states } = sampleHmm(p, options.n, options.seed);
  // A second stream for the intrabar shape, so changing it never changes the returns.
  const rng = createRng((options.seed ^ 0x5bd1e995) >>> 0);
  const startTime = options.startTime ?? Date.UTC(2020, 0, 1);
  const stepMs = options.stepMs ?? 86_400_000;
  let prev = options.startPrice ?? 100;
  const bars: Bar[] = [];
  for (let t = 0; t < options.n; t++) {
    const vol = regimes[states[t]].volatility;
    const open = prev * Math.exp(0.1 * vol * rng.normal());
    const close = prev * Math.exp(obs.data[t]);
    const high = Math.max(open, close) * Math.exp(0.5 * vol * Math.abs(rng.normal()));
    const low = Math.min(open, close) * Math.exp(-0.5 * vol * Math.abs(rng.normal()));
    const volume = Math.round(1e6 * (vol / regimes[0].volatility) * Math.exp(0.3 * rng.normal()));
    bars.push({ time: startTime + t * stepMs, open, high, low, close, volume });
    prev = close;
  }
  return { bars, states };
}
