import { type ApiRouter, apiRouter, registerRoute } from '../access/routes';
import {
  cbbSweepArgs,
  cbbSweepOnDemandWorkflowId,
  cbbSweepWorkflowType,
  type CbbSweepWorkflow,
} from '../../lib/cbb/contract';
import { workflowUiUrl } from '../../lib/infra/temporal';
import type { ApiContext } from '../context';
import { anyObject, json } from '../openapi';
import { startWorkflow } from '../start-options';

registerRoute({
  scope: 'orders:write',
  method: 'post',
  path: '/api/v1/cbb/sweep',
  summary: 'Run the sweep of pending orders now (joins the on-demand sweep already running)',
  responses: { 202: json(anyObject) },
});

/** `POST /api/v1/cbb/sweep`: runs the sweep now, or joins the on-demand sweep already running. */
export function cbbRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/cbb');
  router.post('/sweep', async (req, res) => {
    const workflowId = cbbSweepOnDemandWorkflowId;
    const handle = await startWorkflow<CbbSweepWorkflow>(ctx, req, cbbSweepWorkflowType, {
      workflowId,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: cbbSweepArgs(ctx.config.cbb.sweepConcurrency),
      staticSummary: 'Sweep on demand: start the CBB sync of every pending order',
    });
    res.status(202).json({
      workflowId,
      runId: handle.firstExecutionRunId,
      webUiUrl: workflowUiUrl(ctx.config, workflowId, handle.firstExecutionRunId),
    });
  });
  return router;
}
