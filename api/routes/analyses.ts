import { type ApiRouter, apiRouter, registerRoute } from '../access/routes';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Request } from 'express';
import { z } from 'zod';
import { notFound } from '../../lib/errors';
import { regimeChartSvg } from '../../lib/hmm/chart';
import {
  analysisIdPattern,
  analysisRequestSchema,
  hmmAnalysisProgress,
  hmmAnalysisStartOptions,
  hmmAnalysisWorkflowType,
  type AnalysisParams,
  type HmmAnalysisWorkflow,
} from '../../lib/hmm/contract';
import { workflowUiUrl } from '../../lib/infra/temporal';
import { symbolStats } from '../../store/hmm/bars';
import { readRegimes } from '../../store/hmm/regimes';
import { getModel, getRun, type ModelRecord, type RunRecord } from '../../store/hmm/runs';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import { startOptions } from '../start-options';
import { parse } from '../validate';

/** HMM regime analyses: start one (or join the same request in flight), read it, draw it. */

const idParams = z.object({
  id: z.string().regex(analysisIdPattern, 'an analysis id such as hmm-BTC-USD-0123456789abcdef'),
});

registerRoute({
  scope: 'analyses:write',
  method: 'post',
  path: '/api/v1/analyses',
  summary:
    'Start an HMM regime analysis of a symbol’s bars; the same request while one runs joins it (same id, 200 instead of 202)',
  request: jsonBody(analysisRequestSchema),
  responses: {
    202: json(anyObject, 'Started; `analysisId` reads it, `webUiUrl` shows its heartbeats'),
    200: json(anyObject, 'The same request was already running: joined'),
    400: errorResponses[400],
    404: errorResponses[404],
  },
});
registerRoute({
  scope: 'analyses:read',
  method: 'get',
  path: '/api/v1/analyses/{id}',
  summary:
    'An analysis: state and live fit progress, the model (each regime’s mean and volatility), regimes summary, convergence, timings, Web UI link',
  request: { params: idParams },
  responses: { 200: json(anyObject), 404: errorResponses[404] },
});
registerRoute({
  scope: 'analyses:read',
  method: 'get',
  path: '/api/v1/analyses/{id}/chart.svg',
  summary: 'The price coloured by regime, the filtered probabilities beneath, a legend of each regime (SVG)',
  request: { params: idParams },
  responses: {
    200: { description: 'SVG image', content: { 'image/svg+xml': { schema: z.string() } } },
    404: errorResponses[404],
    409: errorResponses[409],
  },
});

/**
 * Starts the analysis of these parameters on the hmm task queue, or joins the one
 * running under the same id (`hmm-<symbol>-<params hash>`).
 */
export async function startAnalysis(ctx: ApiContext, req: Request, params: AnalysisParams) {
  const options = hmmAnalysisStartOptions(params, ctx.config.hmm.taskQueue);
  const running = await runningRunId(ctx.client, options.workflowId);
  const handle = await ctx.client.workflow.start<HmmAnalysisWorkflow>(hmmAnalysisWorkflowType, {
    ...startOptions(ctx, req),
    ...options,
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const runId = handle.firstExecutionRunId;
  if (running !== runId) ctx.metrics.started.inc({ type: hmmAnalysisWorkflowType });
  return {
    handle,
    analysisId: options.workflowId,
    runId,
    joined: running === runId,
    webUiUrl: workflowUiUrl(ctx.config, options.workflowId, runId),
  };
}

async function runningRunId(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING' ? d.runId : undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The workflow's state, and while it fits, the last heartbeat (restart, iteration, log-likelihood). */
async function workflowView(ctx: ApiContext, id: string) {
  const handle = ctx.client.workflow.getHandle(id);
  let described;
  try {
    described = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  const running = described.status.name === 'RUNNING';
  const heartbeat = described.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
  return {
    runId: described.runId,
    status: described.status.name,
    webUiUrl: workflowUiUrl(ctx.config, id, described.runId),
    progress: running ? await handle.query(hmmAnalysisProgress).catch(() => undefined) : undefined,
    fitProgress: running && heartbeat ? defaultPayloadConverter.fromPayload(heartbeat) : undefined,
  };
}

function modelView(model: ModelRecord) {
  const m = model.model;
  return {
    features: model.features,
    covarianceType: m.covarianceType,
    startprob: m.startprob,
    transmat: m.transmat,
    states: model.labels.map((label, s) => {
      const c = m.covars[s] as number[] | number[][];
      const variance = m.covarianceType === 'diag' ? (c as number[])[0] : (c as number[][])[0][0];
      return {
        state: s,
        label,
        meanReturn: m.means[s][0],
        volatility: Math.sqrt(variance),
        means: m.means[s],
        covars: c,
        // Expected bars in the regime once entered: 1 / (1 - p_ii).
        expectedDuration: 1 / Math.max(1 - m.transmat[s][s], 1e-12),
      };
    }),
  };
}

export function analysisRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/analyses');

  router.post('/', async (req, res) => {
    const params = parse(analysisRequestSchema, req.body ?? {});
    // A request for bars that are not there fails here, not after a workflow has started.
    if (!(await symbolStats(ctx.pool, params.symbol))) {
      throw notFound(`no bars for ${params.symbol}: import them (npm run hmm -- import <csv>) or generate some`);
    }
    const { analysisId, runId, joined, webUiUrl } = await startAnalysis(ctx, req, params);
    res
      .status(joined ? 200 : 202)
      .location(`/api/v1/analyses/${analysisId}`)
      .json({
        analysisId,
        runId,
        joined,
        params,
        webUiUrl,
        links: { self: `/api/v1/analyses/${analysisId}`, chart: `/api/v1/analyses/${analysisId}/chart.svg` },
      });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const [run, model, workflow] = await Promise.all([
      getRun(ctx.pool, id),
      getModel(ctx.pool, id),
      workflowView(ctx, id),
    ]);
    if (!run && !workflow) throw notFound(`analysis ${id} does not exist`);
    const regimes = run && model && run.status === 'completed' ? await regimesSummary(ctx, run, model) : undefined;
    res.json({
      analysisId: id,
      symbol: run?.symbol,
      status: run?.status ?? 'starting',
      params: run?.params,
      error: run?.error ?? undefined,
      workflow: workflow ?? { status: 'NOT_FOUND', webUiUrl: workflowUiUrl(ctx.config, id) },
      data: run?.bars
        ? { bars: run.bars, observations: run.observations, from: run.dataFrom, to: run.dataTo }
        : undefined,
      convergence:
        run?.logLikelihood !== null && run?.logLikelihood !== undefined
          ? {
              engine: run.engine,
              states: run.states,
              logLikelihood: run.logLikelihood,
              converged: run.converged,
              iterations: run.iterations,
              candidates: run.candidates ?? undefined,
            }
          : undefined,
      model: run && model ? modelView(model) : undefined,
      regimes,
      timings: run?.timings,
      startedAt: run?.startedAt,
      finishedAt: run?.finishedAt,
      links: { chart: `/api/v1/analyses/${id}/chart.svg` },
    });
  });

  router.get('/:id/chart.svg', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const run = await getRun(ctx.pool, id);
    if (!run) throw notFound(`analysis ${id} does not exist`);
    const model = await getModel(ctx.pool, id);
    const points = await readRegimes(ctx.pool, id, run.symbol);
    if (!model || run.status !== 'completed' || points.length === 0) {
      throw notFound(`analysis ${id} has no regimes to draw yet (status ${run.status})`);
    }
    const view = modelView(model);
    const svg = regimeChartSvg({
      title: `${run.symbol}: ${model.labels.length} regimes, ${run.dataFrom?.slice(0, 10)} to ${run.dataTo?.slice(0, 10)}`,
      points,
      regimes: view.states,
    });
    res.type('image/svg+xml').set('cache-control', 'no-cache').send(svg);
  });

  return router;
}

async function regimesSummary(ctx: ApiContext, run: RunRecord, model: ModelRecord) {
  const points = await readRegimes(ctx.pool, run.id, run.symbol);
  const k = model.labels.length;
  const bars = new Array<number>(k).fill(0);
  const segments = new Array<number>(k).fill(0);
  points.forEach((p, i) => {
    bars[p.state]++;
    if (i === 0 || points[i - 1].state !== p.state) segments[p.state]++;
  });
  const last = points[points.length - 1];
  let state = 0;
  if (last) for (let s = 1; s < k; s++) if (last.filtered[s] > last.filtered[state]) state = s;
  return {
    count: points.length,
    perState: model.labels.map((label, s) => ({
      state: s,
      label,
      bars: bars[s],
      share: points.length ? bars[s] / points.length : 0,
      segments: segments[s],
    })),
    latest: last
      ? {
          time: new Date(last.time).toISOString(),
          state,
          label: model.labels[state],
          probability: last.filtered[state],
          probabilities: last.filtered,
        }
      : undefined,
  };
}
