/**
 * What a metrics provider answered, and whether it can be judged. Anything that is not
 * a finite number is inconclusive with its reason, never a pass: missing or NaN metrics
 * counted as passing, and an empty result crashing the analysis, are known failures of
 * other canary tools.
 */

export type Variant = 'canary' | 'baseline';

/** One side's reading: value null when the query matched no series (an empty result). */
export interface Reading {
  value: number | null;
  /** Individual observations (latencies, per-window rates) for the statistical comparison. */
  samples?: number[];
}

export type ProviderAnswer =
  | { ok: true; canary: Reading; baseline?: Reading; query?: Partial<Record<Variant, string>> }
  /** The provider could not answer: unreachable, timed out, refused the query, or answered nonsense. */
  | { ok: false; error: string };

export type InconclusiveReason = 'empty' | 'nan' | 'infinite' | 'error';

export type Classified = { ok: true; value: number } | { ok: false; reason: InconclusiveReason; message: string };

/** Whether one value can be judged, and if not, why. */
export function classifyValue(value: number | null | undefined, what: string): Classified {
  if (value === null || value === undefined)
    return { ok: false, reason: 'empty', message: `${what}: the query returned no data` };
  if (typeof value !== 'number' || Number.isNaN(value))
    return { ok: false, reason: 'nan', message: `${what}: the value is NaN` };
  if (!Number.isFinite(value)) {
    return { ok: false, reason: 'infinite', message: `${what}: the value is ${value > 0 ? '+Inf' : '-Inf'}` };
  }
  return { ok: true, value };
}

/** The provider's failure, as an inconclusive reading. */
export const providerError = (error: string): Classified => ({
  ok: false,
  reason: 'error',
  message: `provider error: ${error}`,
});

/** Samples the comparison can use: finite numbers only; the number dropped is reported. */
export function usableSamples(samples: number[] | undefined): { samples: number[]; dropped: number } {
  if (!samples) return { samples: [], dropped: 0 };
  const usable = samples.filter((s) => typeof s === 'number' && Number.isFinite(s));
  return { samples: usable, dropped: samples.length - usable.length };
}
