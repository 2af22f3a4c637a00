import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Every custom search attribute the workflows set. The local stack registers them
 * when the dev server starts; on a real cluster run `npm run temporal:setup`. A SQL
 * visibility store (the dev server's SQLite, Postgres, MySQL) takes at most 10 of type
 * Keyword per namespace: the list stays within that (test/unit/search-attributes.test.ts).
 */
export const searchAttributes = {
  orderId: defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD),
  syncStatus: defineSearchAttributeKey('SyncStatus', SearchAttributeType.KEYWORD),
  migrationName: defineSearchAttributeKey('MigrationName', SearchAttributeType.KEYWORD),
  migrationState: defineSearchAttributeKey('MigrationState', SearchAttributeType.KEYWORD),
  symbol: defineSearchAttributeKey('Symbol', SearchAttributeType.KEYWORD),
  analysisState: defineSearchAttributeKey('AnalysisState', SearchAttributeType.KEYWORD),
  vmName: defineSearchAttributeKey('VmName', SearchAttributeType.KEYWORD),
  vmState: defineSearchAttributeKey('VmState', SearchAttributeType.KEYWORD),
  rolloutTarget: defineSearchAttributeKey('RolloutTarget', SearchAttributeType.KEYWORD),
  rolloutPhase: defineSearchAttributeKey('RolloutPhase', SearchAttributeType.KEYWORD),
  rolloutWeight: defineSearchAttributeKey('RolloutWeight', SearchAttributeType.INT),
} as const;

/**
 * Attributes earlier versions registered and no workflow sets any more. A namespace that
 * still has them may have no room for the current ones (the Keyword limit above), so the
 * setup removes them first.
 */
export const retiredSearchAttributes: readonly string[] = ['CorrelationId', 'Branch'];

/** The CLI's names for the types, as `temporal server start-dev --search-attribute` wants them. */
export function searchAttributeFlags(): string[] {
  const names: Record<string, string> = {
    [SearchAttributeType.KEYWORD]: 'Keyword',
    [SearchAttributeType.TEXT]: 'Text',
    [SearchAttributeType.INT]: 'Int',
    [SearchAttributeType.DOUBLE]: 'Double',
    [SearchAttributeType.BOOL]: 'Bool',
    [SearchAttributeType.DATETIME]: 'Datetime',
    [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
  };
  return Object.values(searchAttributes).map((k) => `${k.name}=${names[k.type]}`);
}
