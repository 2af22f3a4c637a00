import type { Request, Response } from 'express';
import {
  mayAccessWorkflow,
  readableWorkflowTypes,
  workflowScope,
  workflowScopes,
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

function byScopes(): string {
  const groups = new Map<string, string[]>();
  for (const [type, { read, write }] of Object.entries(workflowScopes)) {
    const pair = `\`${read}\`/\`${write}\``;
    groups.set(pair, [...(groups.get(pair) ?? []), type]);
  }
  return [...groups].map(([pair, types]) => `${pair} for ${types.join(', ')}`).join('; ');
}

/** The rule as the OpenAPI document states it, from the same table the checks read. */
export const accessRule =
  'Besides `workflows:read` (describe, list, query) or `workflows:write` (cancel, terminate, signal, update), ' +
  "a call needs the read or write scope of the workflow's own process, by the type Temporal reports: " +
  `${byScopes()}; any other type needs \`*\`. A list shows only the types the key may read.`;

const verb: Record<WorkflowAccess, string> = { read: 'reading', write: 'steering' };

/** Throws 403 (naming the scope) unless the caller may `access` a workflow of this type. */
export function checkWorkflowAccess(res: Response, id: string, type: string, access: WorkflowAccess): void {
  if (mayAccessWorkflow(grantsOf(res), type, access)) return;
  const scope = workflowScope(type, access) ?? '*';
  const who = principalOf(res)?.prefix ?? 'the caller';
  throw new AppError('Forbidden', `API key ${who} lacks the scope ${scope} that ${verb[access]} ${type} ${id} needs`, {
    scope,
  });
}

/** The caller's visibility query, checked and narrowed to the workflow types its key may read. */
export function visibleQuery(req: Request, res: Response, query: string | undefined): string | undefined {
  const types = readableWorkflowTypes(grantsOf(res));
  try {
    if (types === undefined) return query === undefined ? undefined : normaliseQuery(query);
    if (types.length === 0)
      throw new AppError('Forbidden', `API key ${principalOf(res)?.prefix} may read no workflow type`, {
        scope: 'workflows:read',
      });
    return narrowToTypes(query, types);
  } catch (err) {
    if (!(err instanceof QueryError)) throw err;
    req.log?.debug({ query }, 'list query refused');
    throw validationError(`query: ${err.message}`, { errors: [{ field: 'query', message: err.message }] });
  }
}
