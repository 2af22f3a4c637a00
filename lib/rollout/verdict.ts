import type { MannWhitneyResult } from './mann-whitney';
import type { InconclusiveReason } from './measurement';

/** What the judge says of one measurement, with every number that produced it. */

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** Why a measurement could not be judged; `error` is the provider's failure, counted apart. */
export type UnjudgedReason = InconclusiveReason | 'no-check';

export type Check =
  | { kind: 'absolute'; verdict: Verdict; value: number; max?: number; min?: number; message: string }
  | {
      kind: 'relative';
      verdict: Verdict;
      canary: number;
      baseline: number | null;
      /** The bound the canary had to stay within, from the baseline. */
      limit?: number;
      /** canary ÷ baseline − 1 (0.5 = 50 % higher); absent when the baseline is 0 or missing. */
      change?: number;
      message: string;
    }
  | ({
      kind: 'mann-whitney';
      verdict: Verdict | 'skipped';
      direction: 'increase' | 'decrease';
      alpha: number;
      /** The one-sided p-value in the harmful direction. */
      p?: number;
      /** Ratio of means, canary ÷ baseline: Kayenta's effect size. */
      effectSize?: number;
      tolerance: number;
      message: string;
    } & Partial<MannWhitneyResult>);

export interface MetricVerdict {
  metric: string;
  verdict: Verdict;
  /** Set when the verdict is inconclusive. */
  unjudged?: UnjudgedReason;
  reason: string;
  canary?: number;
  baseline?: number | null;
  checks: Check[];
  dryRun: boolean;
}
