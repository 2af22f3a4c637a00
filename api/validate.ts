import type { z } from 'zod';

/** Parses with a schema; a ZodError reaches the problem handler, which names each field. */
export function parse<S extends z.ZodTypeAny>(schema: S, value: unknown): z.output<S> {
  return schema.parse(value);
}
