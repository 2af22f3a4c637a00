import express from 'express';
import { pinoHttp } from 'pino-http';
import { bearerAuth } from './auth';
import type { ApiContext } from './context';
import { notFoundHandler, problemHandler } from './problem';
import { requestId } from './request-id';
import { cbbRoutes } from './routes/cbb-sweeps';
import { healthRoutes } from './routes/health';
import { migrationRoutes } from './routes/batch-migrations';
import { orderRoutes } from './routes/cbb-orders';
import { flagEvaluationRoute, flagRoutes } from './routes/flags';
import { rolloutRoutes } from './routes/rollouts';
import { selfCheckRoutes } from './routes/self-checks';
import { workflowRoutes } from './routes/workflows';

export function createApp(ctx: ApiContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use('/api/v1/flags', flagEvaluationRoute(ctx));
  app.use(
    pinoHttp({
      logger: ctx.log,
      genReqId: requestId,
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      },
    }),
  );
  app.use(ctx.metrics.track);
  app.use(express.json({ limit: '1mb' }));
  app.use(healthRoutes(ctx));
  app.use('/api', bearerAuth(ctx.config.api.token));
  app.use('/api/v1/workflows', workflowRoutes(ctx));
  app.use('/api/v1/self-checks', selfCheckRoutes(ctx));
  app.use('/api/v1/migrations', migrationRoutes(ctx));
  app.use('/api/v1/orders', orderRoutes(ctx));
  app.use('/api/v1/cbb', cbbRoutes(ctx));
  app.use('/api/v1/rollouts', rolloutRoutes(ctx));
  app.use('/api/v1/flags', flagRoutes(ctx));
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
