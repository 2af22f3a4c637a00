import { type ApiRouter, apiRouter, registerRoute } from '../access/routes';
import { ScheduleNotFoundError, type ScheduleExecutionResult } from '@temporalio/client';
import { z } from 'zod';
import { notFound } from '../../lib/errors';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import { parse } from '../validate';

/**
 * The project's Temporal Schedules (the CBB sweep, the HMM refit, the key-usage flush...)
 * as an operator sees and steers them: list, describe, pause, unpause, run now.
 */

const idParams = z.object({ id: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'a schedule id such as cbb-sweep') });
const noteBody = z.object({ note: z.string().max(500).optional() }).strict();
const basePath = '/api/v1/schedules';

registerRoute({
  scope: 'schedules:read',
  method: 'get',
  path: basePath,
  summary: 'List the Temporal Schedules: state, workflow type, recent and next runs',
  responses: { 200: json(z.object({ schedules: z.array(anyObject) })) },
});
registerRoute({
  scope: 'schedules:read',
  method: 'get',
  path: `${basePath}/{id}`,
  summary: 'Describe one Schedule',
  request: { params: idParams },
  responses: { 200: json(anyObject), 404: errorResponses[404] },
});
for (const action of ['pause', 'unpause'] as const)
  registerRoute({
    scope: 'schedules:admin',
    method: 'post',
    path: `${basePath}/{id}/${action}`,
    summary: `${action === 'pause' ? 'Pause' : 'Unpause'} a Schedule; \`note\` says why (shown in the Web UI)`,
    request: { params: idParams, ...jsonBody(noteBody, false) },
    responses: { 200: json(anyObject, 'The Schedule after the change'), 404: errorResponses[404] },
  });
registerRoute({
  scope: 'schedules:admin',
  method: 'post',
  path: `${basePath}/{id}/trigger`,
  summary:
    'Run the Schedule’s action now, whatever its overlap policy; a run that finds the Schedule’s looping run open steps aside (the CBB sweep at once, the reconciler after its one pass)',
  request: { params: idParams },
  responses: { 202: json(anyObject, 'Requested'), 404: errorResponses[404] },
});

/** The SDK reports an interval in milliseconds; shown as the `1m`/`24h` the contracts declare. */
function asDuration(every: unknown): string {
  const ms = Number(every);
  if (!Number.isFinite(ms)) return String(every);
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

const runs = (actions: ScheduleExecutionResult[]) =>
  actions.map((a) => ({
    scheduledAt: a.scheduledAt.toISOString(),
    takenAt: a.takenAt.toISOString(),
    workflowId: a.action.workflow.workflowId,
    runId: a.action.workflow.firstExecutionRunId,
  }));

export function scheduleRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/schedules');
  const uiUrl = (id: string) =>
    `${ctx.config.temporal.uiUrl}/namespaces/${encodeURIComponent(ctx.config.temporal.namespace)}/schedules/${encodeURIComponent(id)}`;

  const describe = async (id: string) => {
    try {
      const d = await ctx.client.schedule.getHandle(id).describe();
      return {
        scheduleId: d.scheduleId,
        paused: d.state.paused,
        note: d.state.note ?? null,
        workflowType: d.action.workflowType,
        taskQueue: d.action.taskQueue,
        every: (d.spec.intervals ?? []).map((i) => asDuration(i.every)),
        overlap: d.policies.overlap,
        actionsTaken: d.info.numActionsTaken,
        skippedOverlap: d.info.numActionsSkippedOverlap,
        running: d.info.runningActions.map((a) => a.workflow.workflowId),
        recentActions: runs(d.info.recentActions),
        nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
        webUiUrl: uiUrl(d.scheduleId),
      };
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw notFound(`no schedule ${JSON.stringify(id)}`);
      throw err;
    }
  };

  router.get('/', async (_req, res) => {
    const schedules = [];
    for await (const s of ctx.client.schedule.list({ pageSize: 100 })) {
      schedules.push({
        scheduleId: s.scheduleId,
        paused: s.state.paused,
        note: s.state.note ?? null,
        workflowType: s.action?.workflowType ?? null,
        recentActions: runs(s.info.recentActions),
        nextActionTimes: s.info.nextActionTimes.map((t) => t.toISOString()),
        webUiUrl: uiUrl(s.scheduleId),
      });
    }
    schedules.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
    res.json({ schedules });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    res.json(await describe(id));
  });

  for (const action of ['pause', 'unpause'] as const)
    router.post(`/:id/${action}`, async (req, res) => {
      const { id } = parse(idParams, req.params);
      const { note } = parse(noteBody, req.body ?? {});
      await describe(id);
      const handle = ctx.client.schedule.getHandle(id);
      const why = note ?? `${action}d through the API`;
      await (action === 'pause' ? handle.pause(why) : handle.unpause(why));
      res.json(await describe(id));
    });

  router.post('/:id/trigger', async (req, res) => {
    const { id } = parse(idParams, req.params);
    await describe(id);
    await ctx.client.schedule.getHandle(id).trigger();
    res.status(202).json({ scheduleId: id, triggered: true, webUiUrl: uiUrl(id) });
  });
  return router;
}
