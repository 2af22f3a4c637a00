/**
 * A data migration: a rewrite of one column of a large table, run in keyset batches
 * by the batchMigration workflow. Definitions are code and name trusted SQL
 * identifiers; nothing here comes from a request.
 *
 * The new value is either a SQL expression (computed inside Postgres, one
 * `UPDATE … FROM (SELECT …)` per batch: the fast path) or a JavaScript function for
 * logic that lives in our code (one `UPDATE … FROM unnest(…)` per batch).
 */
export interface SqlValue {
  /** An expression over the row aliased `t`, e.g. `round(t.price * 1.17, 2)`. */
  sql: string;
}

export interface JsValue {
  /** Columns of `t` that compute reads, besides the key and the migrated column. */
  inputs: string[];
  /** The new value as text (cast to the column's type), or null. Must be pure. */
  compute: (row: Record<string, unknown>) => string | null;
}

export interface MigrationDefinition {
  name: string;
  description: string;
  table: string;
  /** A bigint (or integer) key column: the keyset cursor walks it in order. */
  key: string;
  column: string;
  /** The column's SQL type, to cast computed and restored values. */
  columnType: string;
  /** Which rows the migration touches: a condition over `t`; all rows if absent. */
  where?: string;
  newValue: SqlValue | JsValue;
  /**
   * Verify: a condition over `t` true for any row the migration left wrong. Without
   * it (worker-computed values), verify recomputes every row and counts the rows a
   * second pass would still change.
   */
  invalid?: string;
  /** Whether a reverse run may restore the values the forward run replaced. */
  reversible: boolean;
}

export const isSqlValue = (v: SqlValue | JsValue): v is SqlValue => 'sql' in v;

/** What the API and the CLI show of a definition. */
export function describeMigration(m: MigrationDefinition) {
  return {
    name: m.name,
    description: m.description,
    table: m.table,
    key: m.key,
    column: m.column,
    computedIn: isSqlValue(m.newValue) ? 'postgres' : 'worker',
    reversible: m.reversible,
  };
}
