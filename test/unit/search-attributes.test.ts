import { SearchAttributeType } from '@temporalio/common';
import { searchAttributes } from '../../lib/search-attributes';

/** Temporal's SQL visibility stores refuse to start a namespace with more than 10 Keyword attributes. */
test('the search attributes fit a SQL visibility store: at most 10 of type Keyword, 3 of each other type', () => {
  const byType = new Map<string, number>();
  for (const key of Object.values(searchAttributes)) byType.set(key.type, (byType.get(key.type) ?? 0) + 1);
  expect(byType.get(SearchAttributeType.KEYWORD) ?? 0).toBeLessThanOrEqual(10);
  for (const [type, n] of byType) if (type !== SearchAttributeType.KEYWORD) expect(n).toBeLessThanOrEqual(3);
});
