import { registerRoute } from '../access/routes';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import {
  followQuery,
  followResponses,
  idempotencyHeaders,
  notHandedOverResponse,
  pendingResponse,
} from '../updates/openapi';
import { actionParams, createBody, idParams, listQuery, updateParams } from './machine-requests';

/** The machine routes in the OpenAPI document. */

const errors = (...codes: (keyof typeof errorResponses)[]) =>
  Object.fromEntries(codes.map((code) => [code, errorResponses[code]]));

const machinePath = '/api/v1/machines/{id}';

export function registerMachinePaths(): void {
  registerRoute({
    scope: 'machines:write',
    method: 'post',
    path: '/api/v1/machines',
    summary: 'Create a machine from a template; its workflow vm-<id> defines and starts it (Halted: defines only)',
    request: jsonBody(createBody),
    responses: {
      201: json(anyObject, 'Created; `workflow` links to its vmLifecycle workflow in the Web UI'),
      ...errors(400, 409, 415, 503),
    },
  });
  registerRoute({
    scope: 'machines:read',
    method: 'get',
    path: '/api/v1/machines',
    summary: 'Machines, filtered and paged (`nextPageToken` fetches the next page), each with its template',
    request: { query: listQuery },
    responses: { 200: json(anyObject), ...errors(400) },
  });
  registerRoute({
    scope: 'machines:read',
    method: 'get',
    path: machinePath,
    summary:
      'A machine with its template, snapshots (those libvirt no longer has marked `lost`, with `lostAt`), recent events, allowed actions and Web UI link',
    request: { params: idParams },
    responses: { 200: json(anyObject), ...errors(404) },
  });
  registerRoute({
    scope: 'machines:write',
    method: 'post',
    path: `${machinePath}/actions/{action}`,
    summary:
      'Run an operation: start, shutdown ({timeoutSeconds}), destroy, reboot, suspend, resume, snapshot ({name, description}), revert ({snapshot}), resize ({memoryMiB, vcpus})',
    request: { params: actionParams, headers: idempotencyHeaders, ...jsonBody(anyObject) },
    responses: {
      200: json(anyObject, 'Done; the state libvirt reports afterwards'),
      202: pendingResponse,
      ...errors(400, 404, 409),
      503: notHandedOverResponse,
    },
  });
  registerRoute({
    scope: 'machines:write',
    method: 'delete',
    path: machinePath,
    summary: 'Delete a machine: destroy and undefine its domain, mark it deleted; its workflow ends',
    request: { params: idParams, headers: idempotencyHeaders },
    responses: { 200: json(anyObject), 202: pendingResponse, ...errors(404, 409), 503: notHandedOverResponse },
  });
  registerRoute({
    scope: 'machines:read',
    method: 'get',
    path: `${machinePath}/updates/{updateId}`,
    summary: 'The outcome of an operation a 202 answered as pending (its `follow.update`)',
    request: { params: updateParams, query: followQuery },
    responses: followResponses,
  });
}
