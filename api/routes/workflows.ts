import type { Response } from 'express';
import { type ApiRouter, apiRouter, registerRoute } from '../access/routes';
import {
  ServiceError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  isGrpcServiceError,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { conflict } from '../../lib/errors';
import { decodePageToken, encodePageToken, pageTokenParam } from '../page-token';
import { z } from 'zod';
import { workflowUiUrl } from '../../lib/infra/temporal';
import type { WorkflowAccess } from '../../lib/access/workflow-scopes';
import type { ApiContext } from '../context';
import { accessRule, checkWorkflowAccess, visibleQuery } from './workflow-access';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import { parse } from '../validate';
import { answerOutcome, answerPending } from '../updates/answer';
import { followUpdate } from '../updates/follow';
import { followLinks } from '../updates/links';
import {
  followQuery,
  followResponses,
  idempotencyHeaders,
  notHandedOverResponse,
  pendingResponse,
  updateIdParam,
} from '../updates/openapi';
import { sendUpdate } from '../updates/send';
import { updateIdFor } from '../updates/update-id';

/** Generic control of any workflow: describe, list, cancel, terminate, signal, query, update. */

const idParams = z.object({ id: z.string().min(1).max(1000) });
const nameParams = idParams.extend({
  name: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\w.:-]+$/, 'letters, digits, _ . : -'),
});
const runQuery = z.object({ runId: z.string().uuid().optional() });
const updateParams = idParams.extend({ updateId: updateIdParam });
const argsBody = z.object({ args: z.array(z.unknown()).max(20).default([]) }).strict();
const listQuery = z.object({
  query: z.string().max(2000).optional(),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
  pageToken: pageTokenParam,
});
const terminateBody = z.object({ reason: z.string().min(1).max(1000) }).strict();

const base = '/api/v1/workflows/{id}';
const byId = { params: idParams };
const byName = { params: nameParams };
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

const updateOutcomes = (id: string) => `/api/v1/workflows/${encodeURIComponent(id)}/update-outcomes`;

function summary(ctx: ApiContext, d: Omit<WorkflowExecutionInfo, 'raw'>) {
  return {
    workflowId: d.workflowId,
    runId: d.runId,
    type: d.type,
    status: d.status.name,
    taskQueue: d.taskQueue,
    startTime: d.startTime,
    closeTime: d.closeTime ?? null,
    historyLength: d.historyLength,
    memo: d.memo ?? {},
    searchAttributes: Object.fromEntries(
      (d.typedSearchAttributes?.getAll() ?? []).map((pair) => [pair.key.name, pair.value as unknown]),
    ),
    webUiUrl: workflowUiUrl(ctx.config, d.workflowId, d.runId),
  };
}

async function outcome(ctx: ApiContext, id: string, runId: string | undefined, status: string) {
  if (status === 'RUNNING') return {};
  try {
    const result = await ctx.client.workflow.getHandle(id, runId).result();
    return { result };
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : err;
    return {
      failure: {
        message: cause instanceof Error ? cause.message : String(cause),
        type: (cause as { type?: string } | undefined)?.type ?? (cause as Error | undefined)?.name,
      },
    };
  }
}

/**
 * A signal or update to a workflow that has ended is refused by Temporal as "not found";
 * the caller is told the truth: the workflow exists and is closed (409), or it does not (404).
 */
async function stillOpen<T>(ctx: ApiContext, id: string, what: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    const notFound =
      err instanceof WorkflowNotFoundError ||
      (err instanceof ServiceError && isGrpcServiceError(err.cause) && err.cause.code === 5);
    if (!notFound) throw err;
    const d = await ctx.client.workflow.getHandle(id).describe();
    if (d.status.name === 'RUNNING') throw err;
    throw conflict(`workflow ${id} is ${d.status.name.toLowerCase()}: it takes no more ${what}s`);
  }
}

export function workflowRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/workflows');

  /** The workflow's type from Temporal, checked against the caller's scopes before anything is sent to it. */
  const authorize = async (res: Response, id: string, access: WorkflowAccess) => {
    const d = await ctx.client.workflow.getHandle(id).describe();
    checkWorkflowAccess(res, id, d.type, access);
  };

  router.get('/', async (req, res) => {
    const { pageSize, pageToken, ...asked } = parse(listQuery, req.query);
    const query = visibleQuery(req, res, asked.query);
    const page = await ctx.client.workflowService.listWorkflowExecutions({
      namespace: ctx.config.temporal.namespace,
      query,
      pageSize,
      nextPageToken: pageToken ? decodePageToken(pageToken, `workflows:${query ?? ''}`) : undefined,
    });
    const items = await Promise.all(
      (page.executions ?? []).map(async (raw) =>
        summary(
          ctx,
          await executionInfoFromRaw(raw, ctx.client.options.loadedDataConverter, raw, ctx.config.temporal.namespace),
        ),
      ),
    );
    const next = page.nextPageToken?.length ? encodePageToken(page.nextPageToken, `workflows:${query ?? ''}`) : null;
    res.json({ items, nextPageToken: next });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const { runId } = parse(runQuery, req.query);
    const d = await ctx.client.workflow.getHandle(id, runId).describe();
    checkWorkflowAccess(res, id, d.type, 'read');
    const pendingActivities = (d.raw.pendingActivities ?? []).map((a) => ({
      activityId: a.activityId,
      type: a.activityType?.name,
      state: a.state,
      attempt: a.attempt,
      lastFailure: a.lastFailure?.message ?? null,
    }));
    res.json({ ...summary(ctx, d), pendingActivities, ...(await outcome(ctx, id, d.runId, d.status.name)) });
  });

  router.post('/:id/cancel', async (req, res) => {
    const { id } = parse(idParams, req.params);
    await authorize(res, id, 'write');
    await ctx.client.workflow.getHandle(id).cancel();
    res.status(202).json({ workflowId: id, requested: 'cancel' });
  });

  router.post('/:id/terminate', async (req, res) => {
    const { id } = parse(idParams, req.params);
    await authorize(res, id, 'write');
    const { reason } = parse(terminateBody, req.body ?? {});
    await ctx.client.workflow.getHandle(id).terminate(reason);
    res.json({ workflowId: id, terminated: true, reason });
  });

  router.post('/:id/signals/:name', async (req, res) => {
    const { id, name } = parse(nameParams, req.params);
    await authorize(res, id, 'write');
    const { args } = parse(argsBody, req.body ?? {});
    await stillOpen(ctx, id, 'signal', () => ctx.client.workflow.getHandle(id).signal(name, ...args));
    res.status(202).json({ workflowId: id, signal: name });
  });

  router.post('/:id/queries/:name', async (req, res) => {
    const { id, name } = parse(nameParams, req.params);
    await authorize(res, id, 'read');
    const { args } = parse(argsBody, req.body ?? {});
    const result = await ctx.client.workflow.getHandle(id).query(name, ...args);
    res.json({ workflowId: id, query: name, result });
  });

  router.post('/:id/updates/:name', async (req, res) => {
    const { id, name } = parse(nameParams, req.params);
    await authorize(res, id, 'write');
    const { args } = parse(argsBody, req.body ?? {});
    const updateId = updateIdFor(req, res, name);
    const answer = await stillOpen(ctx, id, 'update', () =>
      sendUpdate(ctx, res, { workflowId: id, update: name, args, updateId }),
    );
    if (answer.done) {
      res.json({ workflowId: id, update: name, updateId, result: answer.result });
      return;
    }
    answerPending(
      res,
      answer,
      followLinks(`/api/v1/workflows/${encodeURIComponent(id)}`, updateOutcomes(id), updateId, answer.runId),
    );
  });

  router.get('/:id/update-outcomes/:updateId', async (req, res) => {
    const { id, updateId } = parse(updateParams, req.params);
    const { runId } = parse(followQuery, req.query);
    await authorize(res, id, 'read');
    const ref = { workflowId: id, runId, updateId };
    const follow = followLinks(`/api/v1/workflows/${encodeURIComponent(id)}`, updateOutcomes(id), updateId, runId);
    answerOutcome(res, ref, await followUpdate(ctx, res, ref), follow);
  });

  return router;
}
