import { narrowToTypes, normaliseQuery } from '../../lib/access/visibility-query';
import { mayAccessWorkflow, readableWorkflowTypes, workflowScope } from '../../lib/access/workflow-scopes';

describe('the workflow list query', () => {
  test.each([
    [`WorkflowType = 'canaryRollout'`, `WorkflowType = 'canaryRollout'`],
    [
      `ExecutionStatus="Running" and WorkflowId starts_with 'vm-'`,
      `ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH 'vm-'`,
    ],
    [
      `(OrderId IN ('1','2') OR SyncStatus != 'synced') AND StartTime >= '2026-01-01T00:00:00Z'`,
      `(OrderId IN ('1', '2') OR SyncStatus != 'synced') AND StartTime >= '2026-01-01T00:00:00Z'`,
    ],
    [`CloseTime BETWEEN '2026-01-01' AND '2026-02-01'`, `CloseTime BETWEEN '2026-01-01' AND '2026-02-01'`],
    [`RolloutWeight > 50 and RolloutWeight <= 100`, `RolloutWeight > 50 AND RolloutWeight <= 100`],
    [`((VmName = 'web-1'))`, `((VmName = 'web-1'))`],
  ])('accepts %s', (query, canonical) => {
    expect(normaliseQuery(query)).toBe(canonical);
  });

  test.each([
    [`WorkflowType = 'a' UNION SELECT * FROM executions`, /unexpected character "\*"/],
    [`WorkflowType = 'a' UNION SELECT WorkflowId`, /unexpected "UNION"/],
    [`WorkflowType = 'a'; DROP TABLE x`, /unexpected character ";"/],
    [`RunId = 'x'`, /unknown field "RunId"/],
    [`workflowtype = 'x'`, /unknown field "workflowtype"/],
    [`WorkflowType = 'a' AND`, /expected a field, found the end/],
    [`WorkflowType == 'a'`, /expected a quoted literal or a number, found "="/],
    [`WorkflowType LIKE 'a%'`, /expected an operator after WorkflowType/],
    [`WorkflowType = 'a' OR OR WorkflowId = 'b'`, /unknown field "OR"/],
    [`(WorkflowType = 'a'`, /expected \), found the end/],
    [`WorkflowType = 'a')`, /unexpected "\)"/],
    [`WorkflowType = 'it''s'`, /unexpected "s"|quote/],
    [`WorkflowType = 'a\\' OR 1=1 --'`, /backslash/],
    [`WorkflowType = WorkflowId`, /expected a quoted literal or a number, found "WorkflowId"/],
    [`WorkflowId STARTS_WITH 5`, /STARTS_WITH takes a quoted literal/],
    [`WorkflowType IN ()`, /expected a quoted literal/],
    [`'unterminated`, /unterminated string literal/],
    [``, /empty/],
  ])('refuses %s', (query, problem) => {
    expect(() => normaliseQuery(query)).toThrow(problem);
  });

  test('the query is narrowed to the types the key may read, the caller’s part in parentheses', () => {
    expect(narrowToTypes(`WorkflowId = 'a' OR WorkflowId = 'b'`, ['canaryRollout', 'selfCheck'])).toBe(
      `(WorkflowId = 'a' OR WorkflowId = 'b') AND WorkflowType IN ('canaryRollout', 'selfCheck')`,
    );
    expect(narrowToTypes(undefined, ['selfCheck'])).toBe(`WorkflowType IN ('selfCheck')`);
  });
});

describe('workflow types and the scopes of their processes', () => {
  test('a rollout is read with rollouts:read and steered with rollouts:write only', () => {
    expect(workflowScope('canaryRollout', 'write')).toBe('rollouts:write');
    expect(mayAccessWorkflow(['workflows:write', 'rollouts:read'], 'canaryRollout', 'write')).toBe(false);
    expect(mayAccessWorkflow(['workflows:write', 'rollouts:write'], 'canaryRollout', 'write')).toBe(true);
    expect(mayAccessWorkflow(['workflows:read', 'rollouts:write'], 'canaryRollout', 'read')).toBe(true);
  });

  test('a type outside the table needs *', () => {
    expect(mayAccessWorkflow(['workflows:write', 'orders:write'], 'someOtherType', 'read')).toBe(false);
    expect(mayAccessWorkflow(['*'], 'someOtherType', 'write')).toBe(true);
  });

  test('the readable types follow the key’s scopes; * reads every type', () => {
    expect(readableWorkflowTypes(['workflows:read', 'machines:read'])?.sort()).toEqual([
      'selfCheck',
      'vmLifecycle',
      'vmReconcile',
    ]);
    expect(readableWorkflowTypes(['flags:evaluate'])).toEqual([]);
    expect(readableWorkflowTypes(['*'])).toBeUndefined();
  });
});
