import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { workflowUiUrl } from '../../lib/infra/temporal';
import { selfCheckWorkflowType, type SelfCheckWorkflow } from '../../lib/self-check/contract';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody, registry } from '../openapi';
import { startOptions } from '../start-options';
import { parse } from '../validate';

const maxWaitMs = 24 * 3600 * 1000;
const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

const body = z
  .object({
    wait: z
      .string()
      .regex(/^\d{1,9}(ms|s|m|h)$/, 'a duration such as 500ms, 30s or 5m')
      .refine((w) => {
        const m = /^(\d+)(ms|s|m|h)$/.exec(w);
        // A malformed value is the regex's to report.
        return !m || Number(m[1]) * unitMs[m[2] as keyof typeof unitMs] <= maxWaitMs;
      }, 'at most 24h')
      .default('1s')
      .openapi({ description: 'The durable timer between the two writes, at most 24h' }),
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
