import { Router } from 'express';
import type { ApiContext } from '../context';
import { anyObject, json, openApiDocument, registry } from '../openapi';
import { createReadiness } from '../readiness';

registry.registerPath({
  method: 'get',
  path: '/healthz',
  summary: 'The process is up',
  responses: { 200: json(anyObject) },
});
registry.registerPath({
  method: 'get',
  path: '/readyz',
  summary:
    'Temporal, Postgres and Redis each answer (checked at most once a second; a dependency that is down says `unreachable` or `timed out`); `queries` gives the share of slow statements over 5 minutes (healthy < 5 %, degraded 5-10 %, unhealthy above)',
  responses: {
    200: json(anyObject, 'All ready'),
    503: json(anyObject, 'At least one dependency is down; see `checks`'),
  },
});

export function healthRoutes(ctx: ApiContext): Router {
  // Case-sensitive and strict like every router of the app: one spelling per path.
  const router = Router({ caseSensitive: true, strict: true });
  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(ctx.version));
  });
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const readiness = createReadiness(
    {
      temporal: () =>
        ctx.client.connection.workflowService.describeNamespace({ namespace: ctx.config.temporal.namespace }),
      postgres: () => ctx.pool.query('SELECT 1'),
      redis: () => ctx.redis.ping(),
    },
    ctx.log,
  );
  router.get('/readyz', async (_req, res) => {
    const { temporal, postgres, redis } = await readiness();
    const ready = temporal.ok && postgres.ok && redis.ok;
    // How Postgres has been answering lately; slow is not down, so it informs rather than fails readiness.
    const queries = ctx.queries?.health();
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'unavailable', checks: { temporal, postgres, redis }, queries });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  return router;
}
