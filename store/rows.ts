/** A timestamp column as the API and the workflows carry it: ISO 8601, or null where the row has none. */
export const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : null);
