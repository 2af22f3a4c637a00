import { validationError } from '../errors';
import type { Observations } from './model';

export interface Bar {
  /** Epoch milliseconds of the bar's open. */
  readonly time: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
}

/** r_t = ln(close_t / close_{t-1}): n - 1 values. */
export function logReturns(close: ArrayLike<number>): Float64Array {
  for (let t = 0; t < close.length; t++) {
    if (!(close[t] > 0 && close[t] < Infinity))
      throw validationError(`close[${t}] must be a positive finite price, got ${close[t]}`);
  }
  const out = new Float64Array(Math.max(close.length - 1, 0));
  for (let t = 1; t < close.length; t++) out[t - 1] = Math.log(close[t] / close[t - 1]);
  return out;
}

/** Sample standard deviation of each trailing window: out[i] covers x[i .. i + window - 1]. */
export function rollingVolatility(x: ArrayLike<number>, window: number): Float64Array {
  checkWindow('volatility window', window, 2, x.length);
  const out = new Float64Array(x.length - window + 1);
  for (let i = 0; i < out.length; i++) {
    let mean = 0;
    for (let t = i; t < i + window; t++) mean += x[t];
    mean /= window;
    let v = 0;
    for (let t = i; t < i + window; t++) v += (x[t] - mean) ** 2;
    out[i] = Math.sqrt(v / (window - 1));
  }
  return out;
}

/**
 * Average true range with Wilder's smoothing: out[i] belongs to bar window + i. The true
 * range of bar t is the largest of high - low and the gaps from the previous close.
 */
export function averageTrueRange(bars: readonly Bar[], window: number): Float64Array {
  checkWindow('ATR window', window, 1, bars.length - 1);
  validateBars(bars);
  const tr = (t: number): number => {
    const { high, low } = bars[t];
    const prev = bars[t - 1].close;
    return Math.max(high - low, Math.abs(high - prev), Math.abs(low - prev));
  };
  const out = new Float64Array(bars.length - window);
  let atr = 0;
  for (let t = 1; t <= window; t++) atr += tr(t);
  atr /= window;
  out[0] = atr;
  for (let t = window + 1; t < bars.length; t++) {
    atr = ((window - 1) * atr + tr(t)) / window;
    out[t - window] = atr;
  }
  return out;
}

export const REGIME_FEATURES = ['logReturn', 'volatility', 'atrRatio'] as const;

/**
 * The regime features of each bar from the first one where all are defined: its log
 * return, the rolling volatility of returns ending at it, and ATR / close (scale-free,
 * so a series' level does not matter). Row i belongs to bar firstBar + i.
 */
export function regimeFeatures(
  bars: readonly Bar[],
  options: { volatilityWindow?: number; atrWindow?: number } = {},
): { obs: Observations; firstBar: number; columns: readonly string[] } {
  const vw = options.volatilityWindow ?? 20;
  const aw = options.atrWindow ?? 14;
  validateBars(bars);
  const firstBar = Math.max(vw, aw);
  if (bars.length <= firstBar) {
    throw validationError(
      `need more than ${firstBar} bars for windows of ${vw} (volatility) and ${aw} (ATR), got ${bars.length}`,
    );
  }
  const returns = logReturns(bars.map((b) => b.close));
  const vol = rollingVolatility(returns, vw);
  const atr = averageTrueRange(bars, aw);
  const n = bars.length - firstBar;
  const data = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const t = firstBar + i;
    data[i * 3] = returns[t - 1];
    data[i * 3 + 1] = vol[t - vw];
    data[i * 3 + 2] = atr[t - aw] / bars[t].close;
  }
  return { obs: { n, d: 3, data }, firstBar, columns: REGIME_FEATURES };
}

/** Log returns alone as one-feature observations: the classic input of a regime model. */
export function returnObservations(close: ArrayLike<number>): Observations {
  const data = logReturns(close);
  return { n: data.length, d: 1, data };
}

function checkWindow(name: string, window: number, min: number, available: number): void {
  if (!Number.isInteger(window) || window < min)
    throw validationError(`${name} must be an integer >= ${min}, got ${window}`);
  if (window > available)
    throw validationError(`${name} of ${window} is longer than the ${available} values available`);
}

function validateBars(bars: readonly Bar[]): void {
  bars.forEach((b, t) => {
    for (const key of ['open', 'high', 'low', 'close'] as const) {
      if (!(b[key] > 0 && b[key] < Infinity))
        throw validationError(`bar ${t}: ${key} must be a positive finite price, got ${b[key]}`);
    }
    if (b.high < b.low) throw validationError(`bar ${t}: high ${b.high} is below low ${b.low}`);
  });
}
