import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { retiredSearchAttributes, searchAttributes } from '../search-attributes';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const typeNames: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Registers the custom search attributes that are missing; returns the names it added. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.values(searchAttributes).filter((k) => !have.has(k.name));
  if (missing.length === 0) return [];
  const retired = retiredSearchAttributes.filter((name) => have.has(name));
  if (retired.length > 0)
    await connection.operatorService.removeSearchAttributes({ namespace, searchAttributes: retired });
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, typeNames[k.type]])),
  });
  return missing.map((k) => k.name);
}
