import { type ApiRouter, apiRouter, registerRoute, type ScopedRouteConfig } from '../access/routes';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { conflict, notFound } from '../../lib/errors';
import { workflowUiUrl } from '../../lib/infra/temporal';
import {
  abort,
  approve,
  promote,
  promoteFull,
  retry,
  rolloutStartOptions,
  rolloutWorkflowType,
  status,
  type CanaryRolloutWorkflow,
  type RolloutStatus,
} from '../../lib/rollout/contract';
import { rolloutSpec, rolloutSpecObject } from '../../lib/rollout/spec';
import { targetName } from '../../lib/rollout/spec-fields';
import { outboundUrls } from '../../lib/rollout/traffic-spec';
import { maxNameLength, maxReasonLength, phases } from '../../lib/rollout/phases';
import { latestRollout, listEvents, listIncidents, listRollouts } from '../../store/rollout/records';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import { outboundGuard } from '../outbound';
import { startWorkflow } from '../start-options';
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
import { sendUpdate, type UpdateAnswer } from '../updates/send';
import { updateIdFor } from '../updates/update-id';
import { withoutControlCharacters } from '../../lib/text';

/** Canary rollouts: start one per target, list them, read one with its records, and control it. */

const idParams = z.object({
  id: z
    .string()
    .max(200)
    .regex(/^rollout-[a-z0-9-]+$/, 'a rollout id is rollout-<target>, e.g. rollout-checkout-api'),
});
const updateParams = idParams.extend({ updateId: updateIdParam });
const listQuery = z
  .object({
    target: targetName.optional(),
    phase: z.enum(phases).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();
const abortBody = z
  .object({
    reason: z
      .string()
      .trim()
      .min(1, 'abort needs a reason: it is recorded with the abort')
      .max(maxReasonLength, `the abort reason must be at most ${maxReasonLength} characters`)
      .regex(withoutControlCharacters, 'the abort reason must not contain control characters'),
  })
  .strict();
const requestedBy = (req: Request) => req.get('x-requested-by')?.slice(0, maxNameLength) || 'api';
/** Who aborts, as the records and the Web UI name them. */
const abortedBy = (req: Request) => req.get('x-requested-by')?.trim().slice(0, maxNameLength) || 'an API caller';

const controls = [
  ['promote', promote, 'Skip the current step: a pause, a manual gate, an analysis or an inconclusive hold'],
  ['promote-full', promoteFull, 'Go straight to weight 100 and the post-promotion watch'],
  ['approve', approve, 'Open a manual gate (a pause until approved)'],
  ['retry', retry, 'After an abort (by a person or by analysis): start again from the first step'],
] as const;

const rolloutPath = '/api/v1/rollouts/{id}';
const paths: ScopedRouteConfig[] = [
  {
    scope: 'rollouts:write',
    method: 'post',
    path: '/api/v1/rollouts',
    summary: 'Start a canary rollout (workflow id rollout-<target>; one per target at a time)',
    description:
      'Defaults reproduce 5/25/50/100 % with 10-minute pauses, error rate < 5 % and p95 < 2 s (absolute), ' +
      '+50 % / +30 % against the baseline, and a 30-minute watch after promotion. Send `X-Requested-By` to name who asked.',
    request: jsonBody(rolloutSpecObject),
    responses: {
      201: json(anyObject, 'Started: its id, status link and Web UI link'),
      400: errorResponses[400],
      409: errorResponses[409],
    },
  },
  {
    scope: 'rollouts:read',
    method: 'get',
    path: '/api/v1/rollouts',
    summary: 'Rollouts, newest first (their records in Postgres)',
    request: { query: listQuery },
    responses: { 200: json(anyObject) },
  },
  {
    scope: 'rollouts:read',
    method: 'get',
    path: rolloutPath,
    summary: 'The newest rollout of a target: its record, live status, transitions, measurements and incidents',
    request: { params: idParams },
    responses: { 200: json(anyObject), 404: errorResponses[404] },
  },
  ...controls.map(([action, , summary]) => ({
    scope: 'rollouts:write' as const,
    method: 'post' as const,
    path: `${rolloutPath}/${action}`,
    summary,
    request: { params: idParams, headers: idempotencyHeaders },
    responses: {
      200: json(anyObject, 'Applied: the status after it'),
      202: pendingResponse,
      404: errorResponses[404],
      409: errorResponses[409],
      503: notHandedOverResponse,
    },
  })),
  {
    scope: 'rollouts:write',
    method: 'post',
    path: `${rolloutPath}/abort`,
    summary: 'Weight 0 at once, from any live phase including the post-promotion watch',
    description:
      'The rollout ends in phase `aborted`, with the reason and who aborted (the `X-Requested-By` header) ' +
      'in its records and incident. `retry` starts it again.',
    request: { params: idParams, headers: idempotencyHeaders, ...jsonBody(abortBody) },
    responses: {
      200: json(anyObject, 'Aborted: the status with weight 0'),
      202: pendingResponse,
      400: errorResponses[400],
      404: errorResponses[404],
      409: errorResponses[409],
      503: notHandedOverResponse,
    },
  },
  {
    scope: 'rollouts:read',
    method: 'get',
    path: `${rolloutPath}/updates/{updateId}`,
    summary: 'The outcome of a control a 202 answered as pending (its `follow.update`)',
    request: { params: updateParams, query: followQuery },
    responses: followResponses,
  },
];
for (const path of paths) registerRoute(path);

const updatesOf = (id: string) => `/api/v1/rollouts/${id}/updates`;
type RolloutControl = (typeof controls)[number][1] | typeof abort;

export function rolloutRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/rollouts');
  const allowOutbound = outboundGuard(ctx.config);
  const links = (id: string, runId?: string) => ({
    href: `/api/v1/rollouts/${id}`,
    webUiUrl: workflowUiUrl(ctx.config, id, runId),
  });
  /** The live status; undefined once the workflow is gone or no longer answers. */
  const liveStatus = (id: string): Promise<RolloutStatus | undefined> =>
    ctx.client.workflow
      .getHandle(id)
      .query(status)
      .catch(() => undefined);

  router.post('/', async (req, res) => {
    const spec = parse(rolloutSpec, req.body ?? {});
    await allowOutbound(outboundUrls(spec));
    const options = rolloutStartOptions(spec, requestedBy(req));
    try {
      const handle = await startWorkflow<CanaryRolloutWorkflow>(ctx, req, rolloutWorkflowType, options);
      res
        .status(201)
        .location(`/api/v1/rollouts/${handle.workflowId}`)
        .json({
          id: handle.workflowId,
          runId: handle.firstExecutionRunId,
          ...links(handle.workflowId, handle.firstExecutionRunId),
        });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const running = await liveStatus(options.workflowId);
      throw conflict(
        `a rollout of ${spec.target} is already running (${options.workflowId}${
          running ? `: ${running.details}` : ''
        }); one target has one rollout at a time: abort it, or wait for it to end`,
      );
    }
  });

  router.get('/', async (req, res) => {
    const q = parse(listQuery, req.query);
    const items = await listRollouts(ctx.pool, q);
    res.json({ items: items.map((r) => ({ ...r, ...links(r.workflowId, r.id) })) });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const record = await latestRollout(ctx.pool, id);
    const live = !record?.finishedAt ? await liveStatus(id) : undefined;
    if (!record && !live) throw notFound(`no rollout ${id}`);
    const [transitions, measurements, incidents] = record
      ? await Promise.all([
          listEvents(ctx.pool, record.id, { kind: 'transition', limit: 200 }),
          listEvents(ctx.pool, record.id, { kind: 'measurement', limit: 50 }),
          listIncidents(ctx.pool, record.id),
        ])
      : [[], [], []];
    res.json({
      id,
      record: record ?? null,
      status: live ?? null,
      transitions,
      measurements,
      incidents,
      ...links(id, record?.id),
    });
  });

  /** Sends a control; 200 with the status after it, or 202 while Temporal holds it and no worker has answered. */
  const control = async (req: Request, res: Response, id: string, update: RolloutControl, args: unknown[] = []) => {
    let answer: UpdateAnswer<RolloutStatus>;
    try {
      answer = await sendUpdate<RolloutStatus>(ctx, res, {
        workflowId: id,
        update,
        args,
        updateId: updateIdFor(req, res, update.name),
      });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(`no running rollout ${id}`);
      throw err;
    }
    if (answer.done) res.json(answer.result);
    else
      answerPending(res, answer, followLinks(`/api/v1/rollouts/${id}`, updatesOf(id), answer.updateId, answer.runId));
  };
  for (const [action, update] of controls) {
    router.post(`/:id/${action}`, async (req, res) => {
      const { id } = parse(idParams, req.params);
      await control(req, res, id, update);
    });
  }
  router.post('/:id/abort', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const { reason } = parse(abortBody, req.body ?? {});
    await control(req, res, id, abort, [reason, abortedBy(req)]);
  });

  router.get('/:id/updates/:updateId', async (req, res) => {
    const { id, updateId } = parse(updateParams, req.params);
    const { runId } = parse(followQuery, req.query);
    const ref = { workflowId: id, runId, updateId };
    const follow = followLinks(`/api/v1/rollouts/${id}`, updatesOf(id), updateId, runId);
    // The rollout first, so that a 404 below is the update's.
    await ctx.client.workflow
      .getHandle(id, runId)
      .describe()
      .catch((err: unknown) => {
        throw err instanceof WorkflowNotFoundError ? notFound(`no rollout ${id}`) : err;
      });
    answerOutcome(res, ref, await followUpdate(ctx, res, ref), follow);
  });

  return router;
}
