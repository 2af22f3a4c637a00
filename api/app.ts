import compression from 'compression';
import express from 'express';
import { pinoHttp } from 'pino-http';
import { apiAccess } from './access/authenticate';
import { refuseQueryCredentials } from './access/query-credentials';
import { redactedUrl } from './access/redact-url';
import type { ApiContext } from './context';
import { temporalDeadline } from './deadline';
import { docsRoutes } from './docs';
import { notFoundHandler, problemHandler } from './problem';
import { methodNotAllowed, requireJsonBody } from './request-shape';
import { requestId } from './request-id';
import { cbbRoutes } from './routes/cbb-sweeps';
import { healthRoutes } from './routes/health';
import { migrationRoutes } from './routes/batch-migrations';
import { orderRoutes } from './routes/cbb-orders';
import { machineTemplateRoutes } from './routes/machine-templates';
import { machineRoutes } from './routes/machines';
import { flagEvaluationRoute, flagRoutes } from './routes/flags';
import { rolloutRoutes } from './routes/rollouts';
import { selfCheckRoutes } from './routes/self-checks';
import { workflowRoutes } from './routes/workflows';
import { analysisRoutes } from './routes/analyses';
import { symbolRoutes } from './routes/symbols';
import { scheduleRoutes } from './routes/schedules';

export function createApp(ctx: ApiContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // One access check (one rate limiter, one set of metrics) for the lean flag route and all of /api.
  const access = apiAccess(ctx);
  app.use('/api/v1/flags', refuseQueryCredentials, flagEvaluationRoute(ctx, access));
  app.use(
    pinoHttp({
      logger: ctx.log,
      genReqId: requestId,
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: redactedUrl(req.url),
        }),
      },
    }),
  );
  // Before anything reads the query: a key sent there is refused, its value never echoed.
  app.use(refuseQueryCredentials);
  app.use(ctx.metrics.track);
  // Bodies over 1 KB go gzipped to clients that ask; GETs carry a weak ETag and answer 304 when it matches (Express's default).
  app.use(compression({ threshold: 1024 }));
  app.use(healthRoutes(ctx));
  app.use(docsRoutes());
  // Who asks, with which scope and within which rate, is checked before a byte of the body is read or parsed.
  app.use('/api', access);
  app.use('/api', temporalDeadline(ctx.client, ctx.config.api.deadlineMs));
  app.use('/api', requireJsonBody, express.json({ limit: '1mb', type: ['application/json', 'application/*+json'] }));
  app.use('/api/v1/workflows', workflowRoutes(ctx));
  app.use('/api/v1/self-checks', selfCheckRoutes(ctx));
  app.use('/api/v1/migrations', migrationRoutes(ctx));
  app.use('/api/v1/orders', orderRoutes(ctx));
  app.use('/api/v1/cbb', cbbRoutes(ctx));
  app.use('/api/v1/analyses', analysisRoutes(ctx));
  app.use('/api/v1/symbols', symbolRoutes(ctx));
  app.use('/api/v1/machine-templates', machineTemplateRoutes(ctx));
  app.use('/api/v1/machines', machineRoutes(ctx));
  app.use('/api/v1/schedules', scheduleRoutes(ctx));
  app.use('/api/v1/rollouts', rolloutRoutes(ctx));
  app.use('/api/v1/flags', flagRoutes(ctx));
  app.use(methodNotAllowed);
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
