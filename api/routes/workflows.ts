import type { Response } from 'express';
import { type ApiRouter, apiRouter } from '../access/routes';
import {
  ServiceError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  isGrpcServiceError,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { conflict } from '../../lib/errors';
import { decodePageToken, encodePageToken } from '../page-token';
import { workflowUiUrl } from '../../lib/infra/temporal';
import type { WorkflowAccess } from '../../lib/access/workflow-scopes';
import type { ApiContext } from '../context';
import { checkWorkflowAccess, visibleQuery } from './workflow-access';
import { parse } from '../validate';
import { answerOutcome, answerPending } from '../updates/answer';
import { followUpdate } from '../updates/follow';
import { followLinks } from '../updates/links';
import { followQuery } from '../updates/openapi';
import { sendUpdate } from '../updates/send';
import { updateIdFor } from '../updates/update-id';
import { argsBody, idParams, listQuery, nameParams, runQuery, terminateBody, updateParams } from './workflow-requests';
import { registerWorkflowPaths } from './workflows-openapi';

/**
 * Generic control of any workflow: describe, list, cancel, terminate, signal, query,
 * update. Requests are validated by the schemas of ./workflow-requests; the routes are
 * declared, with their scopes, in ./workflows-openapi.
 */

registerWorkflowPaths();

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
