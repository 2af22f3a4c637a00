/**
 * Control characters refused in free text from callers (tab, newline and carriage return
 * pass): Postgres text cannot hold a NUL byte, so a record carrying one fails its write on
 * every retry, and the others garble a log line or the Web UI.
 */
export const controlCharacters = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** The same rule as a whole-string pattern, for schemas that publish it (OpenAPI's `pattern`). */
export const withoutControlCharacters = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;
