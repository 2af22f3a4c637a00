import { type ApiRouter, apiRouter, registerRoute } from '../access/routes';
import { z } from 'zod';
import { AppError, notFound } from '../../lib/errors';
import {
  analysisRequestSchema,
  defaultAnalysisParams,
  regimeCacheKey,
  type LatestRegime,
} from '../../lib/hmm/contract';
import { listSymbols, symbolStats } from '../../store/hmm/bars';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json } from '../openapi';
import { startAnalysis } from './analyses';

/** Symbols with bars, and each one's latest regime: from the cache, or computed when absent. */

const symbolParams = z.object({ symbol: analysisRequestSchema.innerType().shape.symbol });

/** How long the regime route waits for an analysis it started before answering 202: a fit of years of daily bars takes seconds. */
const COMPUTE_WAIT_MS = 60_000;

registerRoute({
  scope: 'analyses:read',
  method: 'get',
  path: '/api/v1/symbols',
  summary: 'Symbols with bars: count and time span of each',
  responses: { 200: json(anyObject) },
});
registerRoute({
  scope: 'analyses:read',
  method: 'get',
  path: '/api/v1/symbols/{symbol}/regime',
  summary:
    'The latest regime of a symbol with its filtered probability: cached for 10 minutes after each analysis; when absent, the default analysis runs (or is joined) and its result returned (202 with a link if it takes over a minute)',
  request: { params: symbolParams },
  responses: {
    200: json(anyObject, '`source` says whether it came from the cache or was computed'),
    202: json(anyObject, 'Still computing: `analysisId` reads it'),
    404: errorResponses[404],
  },
});

export function symbolRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/symbols');

  router.get('/', async (_req, res) => {
    res.json({ symbols: await listSymbols(ctx.pool) });
  });

  router.get('/:symbol/regime', async (req, res) => {
    const { symbol } = symbolParams.parse(req.params);
    const key = regimeCacheKey(symbol);
    const [cached, ttl] = await Promise.all([ctx.redis.get(key), ctx.redis.ttl(key)]);
    if (cached) {
      res.json({ source: 'cache', ttlSeconds: ttl, ...(JSON.parse(cached) as LatestRegime) });
      return;
    }
    if (!(await symbolStats(ctx.pool, symbol))) {
      throw notFound(`no bars for ${symbol}: import them (npm run hmm -- import <csv>) or generate some`);
    }
    const started = await startAnalysis(ctx, req, defaultAnalysisParams(symbol));
    const outcome = await Promise.race([
      started.handle.result().then((r) => ({ done: true as const, latest: r.latest })),
      new Promise<{ done: false }>((resolve) => setTimeout(() => resolve({ done: false }), COMPUTE_WAIT_MS).unref()),
    ]).catch((err: unknown) => {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new AppError('Upstream', `the analysis of ${symbol} failed: ${cause}`, {
        analysisId: started.analysisId,
      });
    });
    if (!outcome.done) {
      res
        .status(202)
        .location(`/api/v1/analyses/${started.analysisId}`)
        .json({ source: 'computing', analysisId: started.analysisId, webUiUrl: started.webUiUrl });
      return;
    }
    res.json({ source: started.joined ? 'joined' : 'computed', ...outcome.latest });
  });

  return router;
}
