import { z } from 'zod';

/** The value types every process's settings are made of. */
export const port = z.coerce.number().int().min(1).max(65535);
export const duration = z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration such as 500ms, 30s, 5m or 1h');
/** A Schedule's interval; `off` leaves the Schedule on the server as an operator left it. */
export const every = z.union([duration, z.literal('off')]);
export const optional = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));
export const optionalUrl = z
  .string()
  .url()
  .optional()
  .or(z.literal('').transform(() => undefined));
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A setting that is valid alone but not with another, said the way a parse error is. */
export const invalid = (name: string, expected: string, got: string): ConfigError =>
  new ConfigError(`invalid configuration:\n  ${name}: expected ${expected}, got ${got}`);

export function durationMs(text: string): number {
  const [, n, unit] = /^(\d+)(ms|s|m|h)$/.exec(text) ?? [];
  return Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
}
