import { accessUsageFlushWorkflowType } from './contract';
import { grants, type Grant, type Scope } from './keys';
import { batchMigrationWorkflowType } from '../batch-migration/contract';
import { cbbSweepWorkflowType, cbbSyncWorkflowType } from '../cbb/contract';
import { hmmAnalysisWorkflowType, hmmRefitWorkflowType } from '../hmm/contract';
import { rolloutWorkflowType } from '../rollout/contract';
import { selfCheckWorkflowType } from '../self-check/contract';
import { vmReconcileWorkflowType, vmWorkflowType } from '../vm/contract';

/**
 * The scopes a workflow's own process asks of a caller of the generic workflow API
 * (api/routes/workflows.ts), by workflow type. The generic API needs `workflows:read` or
 * `workflows:write` as well: a key reaches a workflow there only when it holds both the
 * generic scope and the process's. A type missing here is reachable with `*` alone.
 */
export const workflowScopes: Readonly<Record<string, { read: Scope; write: Scope }>> = {
  [cbbSyncWorkflowType]: { read: 'orders:read', write: 'orders:write' },
  [cbbSweepWorkflowType]: { read: 'orders:read', write: 'orders:write' },
  [batchMigrationWorkflowType]: { read: 'migrations:read', write: 'migrations:admin' },
  [rolloutWorkflowType]: { read: 'rollouts:read', write: 'rollouts:write' },
  [vmWorkflowType]: { read: 'machines:read', write: 'machines:write' },
  [vmReconcileWorkflowType]: { read: 'machines:read', write: 'machines:write' },
  [hmmAnalysisWorkflowType]: { read: 'analyses:read', write: 'analyses:write' },
  [hmmRefitWorkflowType]: { read: 'analyses:read', write: 'analyses:write' },
  // Self-checks have no read scope of their own: the generic one reads them.
  [selfCheckWorkflowType]: { read: 'workflows:read', write: 'self-checks:write' },
  [accessUsageFlushWorkflowType]: { read: 'schedules:read', write: 'schedules:admin' },
};

export type WorkflowAccess = 'read' | 'write';

/** The scope a workflow type needs for `access`; undefined for a type outside the table (`*` only). */
export function workflowScope(type: string, access: WorkflowAccess): Scope | undefined {
  return Object.hasOwn(workflowScopes, type) ? workflowScopes[type][access] : undefined;
}

export function mayAccessWorkflow(granted: readonly Grant[], type: string, access: WorkflowAccess): boolean {
  if (granted.includes('*')) return true;
  const needed = workflowScope(type, access);
  return needed !== undefined && grants(granted, needed);
}

/** The workflow types a key may read; undefined when it may read every type (no narrowing). */
export function readableWorkflowTypes(granted: readonly Grant[]): string[] | undefined {
  if (granted.includes('*')) return undefined;
  return Object.keys(workflowScopes).filter((type) => mayAccessWorkflow(granted, type, 'read'));
}
