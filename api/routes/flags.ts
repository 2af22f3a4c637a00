import { type ApiRouter, apiRouter, registerRoute, type ScopedRouteConfig } from '../access/routes';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { notFound } from '../../lib/errors';
import { evaluateFlag, flagRecord, subject } from '../../lib/rollout/bucketing';
import { flagKey, targetName } from '../../lib/rollout/spec-fields';
import { listFlags, readFlag, writeFlag } from '../../store/rollout/flags';
import { recordOutcomes } from '../../store/rollout/outcomes';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import { parse } from '../validate';

/**
 * Feature flags in Redis: the flag traffic controller's weights, set by rollouts and by
 * people, evaluated for apps with sticky bucketing; and the request outcomes apps report
 * for the built-in metrics provider (scripts/rollout/sdk.ts does both).
 */

const keyParams = z.object({ key: flagKey });
const flagBody = flagRecord.omit({ key: true });
const evaluateBody = z.object({ subject }).strict();
const outcomesBody = z
  .object({
    /** The rollout target the outcomes count for; the flag's key when absent. */
    target: targetName.optional(),
    outcomes: z
      .array(
        z
          .object({
            variant: z.enum(['canary', 'baseline']),
            ok: z.boolean(),
            latencyMs: z.number().min(0).max(3_600_000),
            /** When the request ended (ms since the epoch); now when absent. */
            at: z.number().int().positive().optional(),
          })
          .strict(),
      )
      .min(1)
      .max(5000, 'send at most 5000 outcomes at a time'),
  })
  .strict();

const flagPath = '/api/v1/flags/{key}';
const paths: ScopedRouteConfig[] = [
  {
    scope: 'flags:read',
    method: 'get',
    path: '/api/v1/flags',
    summary: 'Every feature flag',
    responses: { 200: json(anyObject) },
  },
  {
    scope: 'flags:write',
    method: 'put',
    path: flagPath,
    summary: 'Create or replace a flag: weight (percent of subjects on the canary), target groups, kill switch',
    request: { params: keyParams, ...jsonBody(flagBody) },
    responses: { 200: json(anyObject, 'The flag as stored'), 400: errorResponses[400] },
  },
  {
    scope: 'flags:evaluate',
    method: 'post',
    path: `${flagPath}/evaluate`,
    summary:
      'Which variant a subject gets: sticky by a hash of (flag, subject id), so raising the weight only adds subjects',
    request: { params: keyParams, ...jsonBody(evaluateBody) },
    responses: {
      200: json(anyObject, '{ variant, reason, bucket }'),
      400: errorResponses[400],
      404: errorResponses[404],
    },
  },
  {
    // What an app reports about its own requests: its evaluation key may send it.
    scope: 'flags:evaluate',
    method: 'post',
    path: `${flagPath}/outcomes`,
    summary: 'Report request outcomes (ok/error, latency) per variant for the built-in metrics provider',
    request: { params: keyParams, ...jsonBody(outcomesBody) },
    responses: { 202: json(anyObject, 'Counted'), 400: errorResponses[400] },
  },
];
for (const path of paths) registerRoute(path);

/**
 * `POST /api/v1/flags/:key/evaluate`, which apps call on every request: mounted ahead of
 * the request log and the request histogram (which cost more than the evaluation itself),
 * behind the same key check (scope `flags:evaluate`), reading flags through the API's flag cache.
 */
export function flagEvaluationRoute(ctx: ApiContext, access: RequestHandler): ApiRouter {
  const router = apiRouter('/api/v1/flags', { before: [access], jsonLimit: '16kb' });
  const read = (key: string) => (ctx.flags ? ctx.flags.get(key) : readFlag(ctx.redis, key));
  router.post('/:key/evaluate', async (req, res) => {
    const { key } = parse(keyParams, req.params);
    const body = parse(evaluateBody, req.body ?? {});
    const flag = await read(key);
    if (!flag) throw notFound(`no flag ${key}; create it with PUT /api/v1/flags/${key}`);
    res.json({ key, ...evaluateFlag(flag, body.subject) });
  });
  return router;
}

export function flagRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/flags');

  router.get('/', async (_req, res) => {
    res.json({ items: await listFlags(ctx.redis) });
  });

  router.put('/:key', async (req, res) => {
    const { key } = parse(keyParams, req.params);
    const flag = { key, ...parse(flagBody, req.body ?? {}) };
    await writeFlag(ctx.redis, flag);
    res.json(flag);
  });

  router.post('/:key/outcomes', async (req, res) => {
    const { key } = parse(keyParams, req.params);
    const body = parse(outcomesBody, req.body ?? {});
    const target = body.target ?? key;
    for (const variant of ['canary', 'baseline'] as const) {
      await recordOutcomes(
        ctx.redis,
        target,
        variant,
        body.outcomes.filter((o) => o.variant === variant),
      );
    }
    res.status(202).json({ target, counted: body.outcomes.length });
  });

  return router;
}
