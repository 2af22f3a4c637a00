import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { workflowUiUrl } from '../../lib/infra/temporal';
import { selfCheckWorkflowType, type SelfCheckWorkflow } from '../../lib/self-check/contract';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody, registry } from '../openapi';
import { startOptions } from '../start-options';
import { parse } from '../validate';

const body = z
  .object({
    wait: z
      .string()
      .regex(/^\d+(ms|s|m|h)$/, 'a duration such as 500ms, 30s or 5m')
      .default('1s'),
  })
  .strict();

registry.registerPath({
  method: 'post',
  path: '/api/v1/self-checks',
  summary: 'Start a self-check: a Postgres write, a durable timer, a second write',
  request: jsonBody(body),
  responses: { 201: json(anyObject, 'Started; `webUiUrl` links to the run'), 400: errorResponses[400] },
});

/** Starts a self-check: a Postgres write, a durable timer, a second write. */
export function selfCheckRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const { wait } = parse(body, req.body ?? {});
    const workflowId = `self-check-${randomUUID()}`;
    const handle = await ctx.client.workflow.start<SelfCheckWorkflow>(selfCheckWorkflowType, {
      ...startOptions(ctx, req),
      workflowId,
      args: [{ wait: wait as `${number}s` }],
    });
    ctx.metrics.started.inc({ type: 'selfCheck' });
    res
      .status(201)
      .location(`/api/v1/workflows/${workflowId}`)
      .json({
        workflowId,
        runId: handle.firstExecutionRunId,
        webUiUrl: workflowUiUrl(ctx.config, workflowId, handle.firstExecutionRunId),
      });
  });
  return router;
}
