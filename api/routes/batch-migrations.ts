import { type ApiRouter, apiRouter, registerRoute, type ScopedRouteConfig } from '../access/routes';
import type { Response } from 'express';
import { z } from 'zod';
import { dataMigrations, describeMigration } from '../../lib/batch-migration/registry';
import {
  cancelMigration,
  migrationProgress,
  pauseMigration,
  resumeMigration,
  setMigrationBatchSize,
  setMigrationRate,
  type MigrationProgress,
  type Settings,
} from '../../lib/batch-migration/contract';
import { getRun, listBatches, listRuns, type RunRecord } from '../../store/batch-migration/runs';
import { runParameters, startReverse, startRun, type StartContext } from '../../store/batch-migration/start';
import { notFound } from '../../lib/errors';
import { workflowUiUrl } from '../../lib/infra/temporal';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import { startOptions } from '../start-options';
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

/** Data migrations: definitions, runs, their progress and their controls. */

const nameParams = z.object({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[a-z0-9-]+$/, 'a migration name such as trades-risk-score'),
});
const idParams = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .regex(/^migration-[a-z0-9-]+-\d+$/, 'a run id such as migration-trades-risk-score-1'),
});
const updateParams = idParams.extend({ updateId: updateIdParam });
const reverseBody = z.object({ maxRowsPerSecond: z.number().int().min(1).max(10_000_000).optional() }).strict();
const patchBody = z
  .object({
    batchSize: runParameters.shape.batchSize.removeDefault().optional(),
    maxRowsPerSecond: z.number().int().min(0).max(10_000_000).nullable().optional(),
  })
  .strict()
  .refine(
    (b) => b.batchSize !== undefined || b.maxRowsPerSecond !== undefined,
    'give batchSize, maxRowsPerSecond or both',
  )
  .openapi({ minProperties: 1 });

const runPath = '/api/v1/migrations/runs/{id}';
const paths: ScopedRouteConfig[] = [
  {
    scope: 'migrations:read',
    method: 'get',
    path: '/api/v1/migrations',
    summary: 'Data migration definitions, each with its recent runs',
    responses: { 200: json(anyObject) },
  },
  {
    scope: 'migrations:admin',
    method: 'post',
    path: '/api/v1/migrations/{name}/runs',
    summary: 'Start a batchMigration run (workflow id migration-<name>-<n>)',
    request: { params: nameParams, ...jsonBody(runParameters, false) },
    responses: {
      201: {
        ...json(anyObject, 'Started: the run record and its Web UI link'),
        links: { GetRun: { operationId: 'getMigrationRun', parameters: { id: '$response.body#/id' } } },
      },
      400: errorResponses[400],
      404: errorResponses[404],
    },
  },
  {
    scope: 'migrations:read',
    method: 'get',
    path: runPath,
    operationId: 'getMigrationRun',
    summary: 'A run: its record, live progress while it runs, its last batches',
    request: { params: idParams },
    responses: { 200: json(anyObject), 404: errorResponses[404] },
  },
  ...(['pause', 'resume', 'cancel'] as const).map((action) => ({
    scope: 'migrations:admin' as const,
    method: 'post' as const,
    path: `${runPath}/${action}`,
    summary: `Request ${action} (takes effect at the next batch boundary)`,
    request: { params: idParams },
    responses: { 202: json(anyObject, 'Requested'), 404: errorResponses[404] },
  })),
  {
    scope: 'migrations:admin',
    method: 'post',
    path: `${runPath}/reverse`,
    summary: 'Start a reverse run restoring what a stopped forward run changed',
    request: { params: idParams, ...jsonBody(reverseBody, false) },
    responses: { 201: json(anyObject), 400: errorResponses[400], 409: errorResponses[409] },
  },
  {
    scope: 'migrations:admin',
    method: 'patch',
    path: runPath,
    summary: 'Set the batch size and/or the rate limit of a running run',
    description:
      'Each setting is an update of its own. When one is pending (202), `updates` lists each with its status ' +
      'and, for a pending one, its `updateId` and `follow` links.',
    request: { params: idParams, headers: idempotencyHeaders, ...jsonBody(patchBody) },
    responses: {
      200: json(anyObject, 'The settings now in force'),
      202: pendingResponse,
      400: errorResponses[400],
      404: errorResponses[404],
      409: errorResponses[409],
      503: notHandedOverResponse,
    },
  },
  {
    scope: 'migrations:read',
    method: 'get',
    path: `${runPath}/updates/{updateId}`,
    summary: 'The outcome of a settings change a 202 answered as pending (its `follow.update`)',
    request: { params: updateParams, query: followQuery },
    responses: followResponses,
  },
];
for (const path of paths) registerRoute(path);

const active = (state: string) => !['completed', 'failed', 'cancelled'].includes(state);

export function migrationRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/migrations');
  const starter = (req: Parameters<typeof startOptions>[1]): StartContext => {
    const { taskQueue, memo } = startOptions(ctx, req);
    return { client: ctx.client, pool: ctx.pool, taskQueue, memo };
  };
  const view = (run: RunRecord) => ({ ...run, webUiUrl: workflowUiUrl(ctx.config, run.id) });
  const runOr404 = async (id: string) => {
    const run = await getRun(ctx.pool, id);
    if (!run) throw notFound(`no migration run ${id}`);
    return run;
  };
  const started = (res: Response, run: RunRecord) => {
    ctx.metrics.started.inc({ type: 'batchMigration' });
    res.status(201).location(`/api/v1/migrations/runs/${run.id}`).json(view(run));
  };

  router.get('/', async (_req, res) => {
    const runs = await listRuns(ctx.pool);
    const items = [...dataMigrations.values()].map((m) => ({
      ...describeMigration(m),
      runs: runs.filter((r) => r.migration === m.name).map(view),
    }));
    res.json({ items });
  });

  router.post('/:name/runs', async (req, res) => {
    const { name } = parse(nameParams, req.params);
    const params = parse(runParameters, req.body ?? {});
    started(res, await startRun(starter(req), name, params));
  });

  router.get('/runs/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const run = await runOr404(id);
    // The record is the durable truth; a running workflow adds its live view (rate, ETA, requests).
    let progress: MigrationProgress | null = null;
    if (active(run.state)) {
      progress = await ctx.client.workflow
        .getHandle(id)
        .query(migrationProgress)
        .catch(() => null);
    }
    res.json({ ...view(run), progress, recentBatches: await listBatches(ctx.pool, id, 20) });
  });

  for (const [action, signal] of [
    ['pause', pauseMigration],
    ['resume', resumeMigration],
    ['cancel', cancelMigration],
  ] as const) {
    router.post(`/runs/:id/${action}`, async (req, res) => {
      const { id } = parse(idParams, req.params);
      await runOr404(id);
      await ctx.client.workflow.getHandle(id).signal(signal);
      res.status(202).json({ id, requested: action, takesEffect: 'at the next batch boundary' });
    });
  }

  router.post('/runs/:id/reverse', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const { maxRowsPerSecond } = parse(reverseBody, req.body ?? {});
    started(res, await startReverse(starter(req), id, { maxRowsPerSecond }));
  });

  router.patch('/runs/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const body = parse(patchBody, req.body ?? {});
    await runOr404(id);
    const sends = [
      ...(body.batchSize !== undefined ? [{ update: setMigrationBatchSize, args: [body.batchSize] }] : []),
      ...(body.maxRowsPerSecond !== undefined ? [{ update: setMigrationRate, args: [body.maxRowsPerSecond] }] : []),
    ];
    // Side by side, so that each has the whole deadline: one left pending must not leave the other unsent.
    const answers = await Promise.all(
      sends.map((u) =>
        sendUpdate<Settings>(ctx, res, { workflowId: id, ...u, updateId: updateIdFor(req, res, u.update.name) }),
      ),
    );
    const follow = (updateId: string, runId?: string) =>
      followLinks(`/api/v1/migrations/runs/${id}`, `/api/v1/migrations/runs/${id}/updates`, updateId, runId);
    const pending = answers.filter((a) => !a.done);
    if (pending.length > 0) {
      const updates = answers.map((a, i) =>
        a.done
          ? { update: sends[i].update.name, status: 'completed', settings: a.result }
          : { update: a.update, updateId: a.updateId, status: 'pending', follow: follow(a.updateId, a.runId) },
      );
      answerPending(res, pending[0], follow(pending[0].updateId, pending[0].runId), { id, updates });
      return;
    }
    const results = answers.flatMap((a) => (a.done ? [a.result] : []));
    // The workflow applies them one after the other: the later one's settings show both.
    const settings =
      results.find(
        (r) =>
          (body.batchSize === undefined || r.batchSize === body.batchSize) &&
          (body.maxRowsPerSecond === undefined || r.maxRowsPerSecond === body.maxRowsPerSecond),
      ) ?? results[results.length - 1];
    res.json({ id, settings });
  });

  router.get('/runs/:id/updates/:updateId', async (req, res) => {
    const { id, updateId } = parse(updateParams, req.params);
    const { runId } = parse(followQuery, req.query);
    await runOr404(id);
    const ref = { workflowId: id, runId, updateId };
    const follow = followLinks(
      `/api/v1/migrations/runs/${id}`,
      `/api/v1/migrations/runs/${id}/updates`,
      updateId,
      runId,
    );
    answerOutcome(res, ref, await followUpdate(ctx, res, ref), follow);
  });

  return router;
}
