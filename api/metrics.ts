import type { RequestHandler } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'orchestrator_api_' });
  const duration = new Histogram({
    name: 'orchestrator_api_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const started = new Counter({
    name: 'orchestrator_api_workflows_started_total',
    help: 'Workflows started through the API, by type',
    labelNames: ['type'],
    registers: [registry],
  });
  // What a write waits on Temporal: the benchmark reads it to say how much of a POST is the start.
  const startDuration = new Histogram({
    name: 'orchestrator_api_workflow_start_duration_seconds',
    help: 'Time the API waited on Temporal to start a workflow, by type and outcome (started, failed)',
    labelNames: ['type', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const shed = new Counter({
    name: 'orchestrator_api_requests_shed_total',
    help: 'Requests answered 503 because the API was busy: full (no room in the queue), waited (the queue wait ran out), deadline (no answer by the deadline)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const track: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      // The matched route pattern, not the raw path, keeps label cardinality bounded.
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
  return { registry, track, started, startDuration, shed };
}

export type Metrics = ReturnType<typeof createMetrics>;
