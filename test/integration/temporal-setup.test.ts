import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { ensureSearchAttributes } from '../../lib/infra/temporal-setup';
import { retiredSearchAttributes, searchAttributes } from '../../lib/search-attributes';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { waitUntil } from '../helpers/wait';

/**
 * A namespace set up by an earlier version holds attributes no workflow sets any more;
 * with them, the current ones exceed the visibility store's 10 Keyword attributes. The
 * setup makes room by removing the retired ones, and touches nothing else.
 */
const namespace = `setup-${process.pid}`;
const { INDEXED_VALUE_TYPE_KEYWORD: Keyword, INDEXED_VALUE_TYPE_INT: Int } = temporal.api.enums.v1.IndexedValueType;
let connection: Connection;

beforeAll(async () => {
  connection = await Connection.connect({ address: appEnv(stackSettings('test')).TEMPORAL_ADDRESS });
  await connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  await waitUntil(`namespace ${namespace} to be usable`, async () => {
    await connection.operatorService.listSearchAttributes({ namespace });
    return true;
  });
  await connection.operatorService.addSearchAttributes({
    namespace,
    // Its own attribute is an Int: the current Keyword attributes fill the limit by themselves.
    searchAttributes: { ...Object.fromEntries(retiredSearchAttributes.map((n) => [n, Keyword])), OwnAttribute: Int },
  });
});

afterAll(async () => {
  await connection.operatorService.deleteNamespace({ namespace }).catch(() => undefined);
  await connection.close();
});

test('an earlier namespace gets every current attribute, its retired ones removed and its own kept', async () => {
  const added = await ensureSearchAttributes(connection, namespace);
  expect(added.sort()).toEqual(
    Object.values(searchAttributes)
      .map((k) => k.name)
      .sort(),
  );
  const now = Object.keys(
    (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {},
  );
  for (const name of retiredSearchAttributes) expect(now).not.toContain(name);
  expect(now).toContain('OwnAttribute');
  expect(await ensureSearchAttributes(connection, namespace)).toEqual([]);
});
