import type { Request, Response } from 'express';
import {
  workflowScope,
  mayAccessWorkflow,
  readableWorkflowTypes,
  type WorkflowAccess,
} from '../../lib/access/workflow-scopes';
import { narrowToTypes, normaliseQuery, QueryError } from '../../lib/access/visibility-query';
import { AppError, validationError } from '../../lib/errors';
import { grantsOf, principalOf } from '../access/principal';

/**
 * The generic workflow API asks, besides its own `workflows:read`/`workflows:write`, the
 * scope of the process a workflow belongs to (lib/access/workflow-scopes.ts), by the type
 * Temporal reports for it: a workflow's id says nothing the caller could not spell.
 */

export const accessRule =
  'Besides `workflows:read` (describe, list, query) or `workflows:write` (cancel, terminate, signal, update), ' +
  "a call needs the read or write scope of the workflow's own process, by its type: `orders:*` for cbbSyncOrder " +
  'and cbbSweep, `migrations:read`/`migrations:admin` for batchMigration, `rollouts:*` for canaryRollout, ' +
  '`machines:*` for vmLifecycle and vmReconcile, `analyses:*` for hmmAnalysis and hmmRefit, `self-checks:write` ' +
  'to steer a selfCheck, `schedules:read`/`schedules:admin` for accessUsageFlush; any other type needs `*`. ' +
  'A list shows only the types the key may read.';

/** Throws 403 (naming the scope) unless the caller may `access` a workflow of this type. */
export function checkWorkflowAccess(req: Request, res: Response, id: string, type: string, access: WorkflowAccess) {
  if (mayAccessWorkflow(grantsOf(res), type, access)) return;
  const scope = workflowScope(type, access) ?? '*';
  const who = principalOf(res)?.prefix ?? 'the caller';
  req.log?.info({ status: 403, workflowType: type }, 'request refused');
  throw new AppError(
    'Forbidden',
    `API key ${who} lacks the scope ${scope} that ${access}ing workflow ${id} (${type}) needs`,
    {
      scope,
    },
  );
}

/** The caller's visibility query, checked and narrowed to the workflow types its key may read. */
export function visibleQuery(res: Response, query: string | undefined): string | undefined {
  try {
    const types = readableWorkflowTypes(grantsOf(res));
    if (types === undefined) return query === undefined ? undefined : normaliseQuery(query);
    return narrowToTypes(query, types);
  } catch (err) {
    if (!(err instanceof QueryError)) throw err;
    throw validationError(`query: ${err.message}`, { errors: [{ field: 'query', message: err.message }] });
  }
}
