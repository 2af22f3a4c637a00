import { registerRoute } from '../access/routes';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import {
  followQuery,
  followResponses,
  idempotencyHeaders,
  notHandedOverResponse,
  pendingResponse,
} from '../updates/openapi';
import { accessRule } from './workflow-access';
import { argsBody, idParams, listQuery, nameParams, runQuery, terminateBody, updateParams } from './workflow-requests';

/**
 * The generic workflow routes in the OpenAPI document, with the scope each one needs.
 * ./workflows registers them as it loads, before its router mounts them: a route that
 * nobody declared cannot be mounted.
 */

const base = '/api/v1/workflows/{id}';
const byId = { params: idParams };
const byName = { params: nameParams };

export function registerWorkflowPaths(): void {
  registerRoute({
    scope: 'workflows:read',
    method: 'get',
    path: '/api/v1/workflows',
    summary: 'List workflows matching a visibility query',
    description:
      'The query takes the fields WorkflowType, WorkflowId, ExecutionStatus, StartTime, CloseTime and the ' +
      'custom search attributes, the operators = != > >= < <= IN BETWEEN STARTS_WITH, AND, OR, parentheses ' +
      'and quoted literals or numbers; anything else is a 400 naming it. ' +
      accessRule,
    request: { query: listQuery },
    responses: { 200: json(anyObject), 400: errorResponses[400] },
  });
  registerRoute({
    scope: 'workflows:read',
    method: 'get',
    path: base,
    summary: 'Describe a workflow: status, times, pending activities, result or failure',
    description: accessRule,
    request: { ...byId, query: runQuery },
    responses: { 200: json(anyObject), 404: errorResponses[404] },
  });
  registerRoute({
    scope: 'workflows:write',
    method: 'post',
    path: `${base}/cancel`,
    summary: 'Request cancellation',
    description: accessRule,
    request: byId,
    responses: { 202: json(anyObject), 404: errorResponses[404] },
  });
  registerRoute({
    scope: 'workflows:write',
    method: 'post',
    path: `${base}/terminate`,
    summary: 'Terminate with a reason',
    description: accessRule,
    request: { ...byId, ...jsonBody(terminateBody) },
    responses: { 200: json(anyObject), 400: errorResponses[400], 404: errorResponses[404] },
  });
  for (const [kind, status] of [
    ['signals', 202],
    ['queries', 200],
  ] as const) {
    registerRoute({
      // A query reads; a signal steers.
      scope: kind === 'queries' ? 'workflows:read' : 'workflows:write',
      method: 'post',
      path: `${base}/${kind}/{name}`,
      description: accessRule,
      summary: `Send ${kind === 'queries' ? 'a query' : 'a signal'} by name`,
      request: { ...byName, ...jsonBody(argsBody, false) },
      responses: {
        [status]: json(anyObject),
        400: errorResponses[400],
        404: errorResponses[404],
        409: errorResponses[409],
      },
    });
  }
  registerRoute({
    scope: 'workflows:write',
    method: 'post',
    path: `${base}/updates/{name}`,
    description: accessRule,
    summary: 'Send an update by name and wait for its result',
    request: { ...byName, headers: idempotencyHeaders, ...jsonBody(argsBody, false) },
    responses: {
      200: json(anyObject, 'The update completed: `result`'),
      202: pendingResponse,
      400: errorResponses[400],
      404: errorResponses[404],
      409: errorResponses[409],
      503: notHandedOverResponse,
    },
  });
  registerRoute({
    scope: 'workflows:read',
    method: 'get',
    // Not under `updates/`: its `{name}` segment names an update's handler, this one an update id.
    path: `${base}/update-outcomes/{updateId}`,
    description: accessRule,
    summary: 'The outcome of an update a 202 answered as pending (its `follow.update`)',
    request: { params: updateParams, query: followQuery },
    responses: followResponses,
  });
}
