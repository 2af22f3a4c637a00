import { z } from 'zod';

/** C0 controls and DEL, less tab, newline and carriage return, as a character-class range. */
const controls = '\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f';

/**
 * Control characters refused in free text from callers (tab, newline and carriage return
 * pass): Postgres text cannot hold a NUL byte, so a record carrying one fails its write on
 * every retry, and the others garble a log line or the Web UI.
 */
export const controlCharacters = new RegExp(`[${controls}]`);

/** The same rule as a whole-string pattern, for schemas that publish it (OpenAPI's `pattern`). */
export const withoutControlCharacters = new RegExp(`^[^${controls}]*$`);

/** A string schema for free text that will be stored: control characters refused, naming the field. */
export const storableText = (field: string) =>
  z.string().regex(withoutControlCharacters, `${field} must not contain control characters`);
