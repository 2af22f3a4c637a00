import { type ApiRouter, apiRouter, registerRoute } from '../access/routes';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { workflowUiUrl } from '../../lib/infra/temporal';
import { selfCheckWorkflowType, type SelfCheckWorkflow } from '../../lib/self-check/contract';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import { startWorkflow } from '../start-options';
import { parse } from '../validate';

/**
 * At most 24h, said by the pattern itself so that the OpenAPI document states the whole
 * rule: up to 7 digits of ms, 4 of s, 3 of m, or 0-24 h.
 */
const waitPattern = /^(\d{1,7}ms|\d{1,4}s|\d{1,3}m|(\d|1\d|2[0-4])h)$/;

const body = z
  .object({
    wait: z
      .string()
      .regex(waitPattern, 'a duration of at most 24h such as 500ms, 30s, 5m or 2h')
      .default('1s')
      .openapi({ description: 'The durable timer between the two writes, at most 24h' }),
  })
  .strict();

registerRoute({
  scope: 'self-checks:write',
  method: 'post',
  path: '/api/v1/self-checks',
  summary: 'Start a self-check: a Postgres write, a durable timer, a second write',
  request: jsonBody(body, false),
  responses: { 201: json(anyObject, 'Started; `webUiUrl` links to the run'), 400: errorResponses[400] },
});

/** Starts a self-check: a Postgres write, a durable timer, a second write. */
export function selfCheckRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/self-checks');
  router.post('/', async (req, res) => {
    const { wait } = parse(body, req.body ?? {});
    const workflowId = `self-check-${randomUUID()}`;
    const handle = await startWorkflow<SelfCheckWorkflow>(ctx, req, selfCheckWorkflowType, {
      workflowId,
      args: [{ wait: wait as `${number}s` }],
      staticSummary: `Self-check: a Postgres write, a ${wait} durable timer, a second write`,
    });
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
