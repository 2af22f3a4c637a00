import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Counter, Histogram, Registry } from 'prom-client';

/**
 * A small service for the canary demo and tests: `--version` names it (stable or canary),
 * `--error-rate` and `--latency-ms` make it as bad as wanted, and it exports Prometheus
 * metrics labelled with its version. The knobs can be changed while it runs with
 * `POST /_knobs {"errorRate": 0.3, "latencyMs": 800}`.
 *
 *   tsx scripts/rollout/demo-service.ts --version canary --port 8482 --error-rate 0.2
 */

const { values } = parseArgs({
  options: {
    version: { type: 'string', default: 'stable' },
    port: { type: 'string', default: '8481' },
    'error-rate': { type: 'string', default: '0' },
    'latency-ms': { type: 'string', default: '20' },
    'jitter-ms': { type: 'string', default: '10' },
  },
});

const knobs = {
  errorRate: Number(values['error-rate']),
  latencyMs: Number(values['latency-ms']),
  jitterMs: Number(values['jitter-ms']),
};
const version = values.version as string;
const port = Number(values.port);
for (const [name, value] of Object.entries({ ...knobs, port })) {
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number ≥ 0, got ${value}`);
}

const registry = new Registry();
const requests = new Counter({
  name: 'demo_requests_total',
  help: 'Requests served, by version and outcome (ok or error)',
  labelNames: ['version', 'outcome'],
  registers: [registry],
});
const duration = new Histogram({
  name: 'demo_request_duration_seconds',
  help: 'Request duration by version',
  labelNames: ['version'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5],
  registers: [registry],
});
// Both series exist from the start: a rate over an absent series is an empty result, not 0.
requests.inc({ version, outcome: 'ok' }, 0);
requests.inc({ version, outcome: 'error' }, 0);

const server = createServer((req, res) => {
  if (req.url === '/metrics') {
    void registry.metrics().then((text) => {
      res.setHeader('content-type', registry.contentType);
      res.end(text);
    });
    return;
  }
  if (req.url === '/_knobs') {
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        try {
          const patch = JSON.parse(body || '{}') as Partial<typeof knobs>;
          for (const k of ['errorRate', 'latencyMs', 'jitterMs'] as const) {
            if (patch[k] !== undefined) {
              if (typeof patch[k] !== 'number' || patch[k] < 0) throw new Error(`${k} must be a number ≥ 0`);
              knobs[k] = patch[k];
            }
          }
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ version, ...knobs }));
        } catch (err) {
          res.statusCode = 400;
          res.end((err as Error).message);
        }
      });
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version, ...knobs }));
    return;
  }
  const end = duration.startTimer({ version });
  const delay = Math.max(0, knobs.latencyMs + (Math.random() * 2 - 1) * knobs.jitterMs);
  setTimeout(() => {
    const failed = Math.random() < knobs.errorRate;
    res.statusCode = failed ? 500 : 200;
    res.setHeader('x-version', version);
    res.end(failed ? `error from ${version}\n` : `hello from ${version}\n`);
    end();
    requests.inc({ version, outcome: failed ? 'error' : 'ok' });
  }, delay);
});

server.listen(port, '127.0.0.1', () => {
  console.log(
    `demo service ${version} on http://127.0.0.1:${port} (errors ${knobs.errorRate}, latency ${knobs.latencyMs} ms)`,
  );
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
