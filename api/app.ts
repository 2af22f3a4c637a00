import compression from 'compression';
import express from 'express';
import { pinoHttp } from 'pino-http';
import { apiAccess } from './access/authenticate';
import { refuseAbsoluteForm, refuseTrailingSlash } from './access/request-target';
import { undeclaredApiRoutes } from './access/routes';
import { refuseQueryCredentials } from './access/query-credentials';
import { redactedUrl } from './access/redact-url';
import { createAdmission } from './admission';
import type { ApiContext } from './context';
import { temporalDeadline } from './deadline';
import { docsRoutes } from './docs';
import { shedLoad, shedReporter, wasShed } from './load-shedding';
import { notFoundHandler, problemHandler } from './problem';
import { methodNotAllowed } from './request-shape';
import { requestId } from './request-id';
import { responseDeadline } from './response-deadline';
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
  const undeclared = undeclaredApiRoutes();
  if (undeclared.length) throw new Error(`routes without a declared scope: ${undeclared.join(', ')}`);
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Set before the first route: `/API/v1/Orders` and `/api/v1/orders/1/` match nothing.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.use(refuseAbsoluteForm);
  // One access check (one rate limiter, one set of metrics) for the lean flag route and all of /api.
  // The flag evaluation stands outside the admission limit below: it answers from the in-process
  // flag cache in about a millisecond, and an app calls it on each of its own requests, so shedding
  // it would pass the API's load on as the app's errors while freeing next to nothing.
  const access = apiAccess(ctx);
  const lean = flagEvaluationRoute(ctx, access);
  app.use(lean.base, refuseQueryCredentials, lean.express);
  app.use(
    pinoHttp({
      logger: ctx.log,
      genReqId: requestId,
      customLogLevel: (_req, res, err) =>
        wasShed(res as express.Response)
          ? 'debug'
          : err || res.statusCode >= 500
            ? 'error'
            : res.statusCode >= 400
              ? 'info'
              : 'debug',
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
  // Probes, /metrics and the docs come before the limit: an orchestrator that cannot get an
  // answer from /healthz or /readyz while the API is merely busy would restart a healthy
  // process (and drop everything in flight), and a scrape is how anyone sees the load at all.
  // They cost no dependency more than once a second (api/readiness.ts).
  app.use(healthRoutes(ctx));
  app.use(docsRoutes());
  const { deadlineMs, admission: limits } = ctx.config.api;
  const admission = createAdmission({
    ...limits,
    // A queued request still has the rest of the deadline to be served in.
    queueMs: Math.floor(deadlineMs / 4),
  });
  const shed = shedReporter({ admission, count: (reason) => ctx.metrics.shed.inc({ reason }), log: ctx.log });
  // The deadline starts before admission, so the wait for a slot counts against it.
  app.use(responseDeadline(deadlineMs, (res) => shed(res, 'deadline')));
  // Before the access check, which itself reads Redis and Postgres: a busy API refuses before any of that.
  app.use(shedLoad(admission, shed));
  // Who asks and within which rate is checked for every path left (any spelling of /api
  // included, so a path that matches no route is a 404 only to a valid key); which scope
  // a route needs is checked by that route's guard, before its body is read or parsed.
  app.use(access);
  app.use(refuseTrailingSlash);
  app.use('/api', temporalDeadline(ctx.client, deadlineMs));
  for (const routes of [
    workflowRoutes(ctx),
    selfCheckRoutes(ctx),
    migrationRoutes(ctx),
    orderRoutes(ctx),
    cbbRoutes(ctx),
    analysisRoutes(ctx),
    symbolRoutes(ctx),
    machineTemplateRoutes(ctx),
    machineRoutes(ctx),
    scheduleRoutes(ctx),
    rolloutRoutes(ctx),
    flagRoutes(ctx),
  ])
    app.use(routes.base, routes.express);
  app.use(methodNotAllowed);
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
