import { z } from 'zod';

/**
 * Durations in a rollout spec are short strings (`30s`, `10m`, `1h`), the form
 * Argo Rollouts and the Temporal CLI use, so a spec reads the same everywhere.
 * Whole numbers only: `1.5h` is `90m`.
 */
const pattern = /^(\d{1,9})(ms|s|m|h|d)$/;
const unitMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = pattern.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * unitMs[match[2]];
}

/** Milliseconds of a duration that a schema already validated. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return ms;
}

/** A readable form of a number of milliseconds: 90000 → `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

/** A zod string that must be a duration between min and max (both duration strings). */
export function durationSchema(field: string, min: string, max: string) {
  const minMs = durationMs(min);
  const maxMs = durationMs(max);
  return z
    .string()
    .describe(`a duration from ${min} to ${max}: a whole number and one of ms, s, m, h, d (e.g. 10m)`)
    .superRefine((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `${field} must be a duration such as 30s, 10m or 1h (a whole number and one of ms, s, m, h, d), got ${JSON.stringify(value)}`,
        });
      } else if (ms < minMs || ms > maxMs) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `${field} must be between ${min} and ${max}, got ${value}`,
        });
      }
    });
}
