/**
 * Paired rounds: the baseline and the subject run in alternation (ABBA, so a drift in
 * the machine's speed hits both alike), several times, and a figure is the median of
 * the rounds with its spread beside it. One short run of each arm is noise on a shared
 * 2-core machine; a ratio is only worth printing with the spread that says so.
 */

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Half the range, as a share of the median: "±4 %". */
  spread: number;
  values: number[];
}

export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spreadOf needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  return { median, min, max, spread: median === 0 ? 0 : (max - min) / 2 / Math.abs(median), values: [...values] };
}

/** `0.52 ±4 % (5 rounds)`. */
export function formatSpread(s: Spread, digits = 2): string {
  const pct = Math.round(s.spread * 100);
  return `${s.median.toFixed(digits)} ±${pct} % (${s.values.length} rounds)`;
}

export interface PairedResult {
  baseline: Spread;
  subject: Spread;
  /** subject / baseline of each round, then their median and spread. */
  ratio: Spread;
}

/**
 * Runs `rounds` pairs. Each arm returns its figure for one round (a rate, or a time:
 * the ratio is subject / baseline either way, so pick the direction the caller prints).
 */
export async function pairedRounds(opts: {
  rounds: number;
  baseline: (round: number) => Promise<number>;
  subject: (round: number) => Promise<number>;
  /** Called after every round, for progress lines. */
  onRound?: (round: number, baseline: number, subject: number) => void;
}): Promise<PairedResult> {
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new Error(`rounds must be ≥ 1, got ${opts.rounds}`);
  const base: number[] = [];
  const subj: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    // ABBA: baseline first on even rounds, subject first on odd ones.
    let b: number;
    let s: number;
    if (round % 2 === 0) {
      b = await opts.baseline(round);
      s = await opts.subject(round);
    } else {
      s = await opts.subject(round);
      b = await opts.baseline(round);
    }
    base.push(b);
    subj.push(s);
    opts.onRound?.(round, b, s);
  }
  return {
    baseline: spreadOf(base),
    subject: spreadOf(subj),
    ratio: spreadOf(subj.map((s, i) => s / base[i]!)),
  };
}

/** Three runs agree when every run's ratio is within ±`tolerance` of their median. */
export function agree(ratios: readonly number[], tolerance = 0.1): boolean {
  const { median } = spreadOf(ratios);
  return ratios.every((r) => Math.abs(r - median) <= tolerance * Math.abs(median));
}
