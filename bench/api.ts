import type { AddressInfo } from 'node:net';
import express from 'express';
import { orderFixture } from '../test/helpers/cbb';
import { isolatedStack } from './support/isolated-stack';
import { type Figures, type Request, measure } from './support/load';

/**
 * `npm run bench -- api [seconds] [flat]`: on an isolated stack of its own (test slot 7
 * unless TEST_STACK_SLOT says otherwise), the API against a bare Express handler measured
 * in the same run. Each endpoint at 5,000 requests a minute (the origin's target: p95
 * under 200 ms, errors under 0.1 %) and at 50 connections flat out; then the slow list
 * route flat out beside the cheap read, to see whether one starves the other. `flat`
 * skips the paced runs. The ratio is the endpoint's flat-out req/s to the bare handler's;
 * the deadline check is issue #21's: no p99 more than 10 % past the API's deadline, and
 * every error a 503 with Retry-After.
 */

const row = (f: Figures) =>
  `${f.name.padEnd(44)} ${f.rps.toFixed(0).padStart(7)} req/s  p50 ${String(f.p50).padStart(4)} ms  p95 ~${f.p95.toFixed(0).padStart(4)} ms  p99 ${String(f.p99).padStart(4)} ms  max ${String(f.max).padStart(5)} ms`;

const pct = (n: number, total: number) => `${((n / (total || 1)) * 100).toFixed(2)} %`;

function deadlineRow(f: Figures, deadlineMs: number): string {
  const held = f.p99 <= deadlineMs * 1.1 && f.failed === 0;
  return (
    `${f.name.padEnd(44)} p99 ${String(f.p99).padStart(5)} ms = ${(f.p99 / deadlineMs).toFixed(2)} of the deadline;` +
    ` answered <500 ${pct(f.ok, f.total)} (p99 ${f.okP99} ms), 503+Retry-After ${pct(f.shed, f.total)}` +
    ` (p99 ${f.shedP99} ms, max ${f.shedMax} ms), other errors ${pct(f.failed, f.total)}  ${held ? 'held' : 'NOT held'}`
  );
}

export default async function bench(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 20);
  const flatOnly = args.includes('flat');
  const say = (msg: string) => console.log(`[bench] ${msg}`);
  const stack = await isolatedStack({ slot: 7, only: 'infrastructure', build: 'the worker and the API', say });
  const { s } = stack;
  const deadlineMs = stack.config.api.deadlineMs;
  await stack.startApp('worker', { LOG_LEVEL: 'warn' });
  await stack.startApp('api', { LOG_LEVEL: 'warn' });
  const api = `http://127.0.0.1:${s.ports.api}`;

  const bare = express();
  bare.get('/x', (_req, res) => res.json({ id: '1', status: 'ok' }));
  const server = bare.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const bareUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  try {
    const seeded = await fetch(`${api}/api/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(orderFixture()),
    }).then((r) => r.json() as Promise<{ order: { id: string } }>);
    const orderId = seeded.order.id;
    let n = 0;
    const getOrder: () => Request = () => ({ method: 'GET', path: `/api/v1/orders/${orderId}` });
    const listWorkflows: () => Request = () => ({ method: 'GET', path: '/api/v1/workflows?pageSize=10' });
    const endpoints: [string, string, () => Request][] = [
      ['bare Express handler', bareUrl, () => ({ method: 'GET', path: '/x' })],
      ['GET /api/v1/orders/:id', api, getOrder],
      [
        'POST /api/v1/orders (unique ids)',
        api,
        () => ({
          method: 'POST',
          path: '/api/v1/orders',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(orderFixture({ externalId: `BENCH-${process.pid}-${++n}`, whatsappAlerts: false })),
        }),
      ],
      ['GET /api/v1/workflows?pageSize=10', api, listWorkflows],
    ];
    const paced: Figures[] = [];
    const flat: Figures[] = [];
    for (const [name, url, next] of endpoints) {
      if (!flatOnly) {
        say(`${name}: 5,000/min for ${seconds}s`);
        paced.push(await measure(name, url, next, { seconds, connections: 10, rate: 5000 / 60 }));
      }
      say(`${name}: 50 connections flat out for ${seconds}s`);
      flat.push(await measure(name, url, next, { seconds, connections: 50 }));
    }
    say(`GET /api/v1/workflows at 40 connections beside GET /api/v1/orders/:id at 10, flat out for ${seconds}s`);
    const mixed = await Promise.all([
      measure('GET /api/v1/workflows (40, beside orders)', api, listWorkflows, { seconds, connections: 40 }),
      measure('GET /api/v1/orders/:id (10, beside workflows)', api, getOrder, { seconds, connections: 10 }),
    ]);

    const base = flat[0].rps;
    console.log(`\nAPI benchmark, ${seconds}s per run (p95 interpolated between autocannon's p90 and p97.5)`);
    if (paced.length) {
      console.log('\nat 5,000 requests/min (target: p95 < 200 ms, errors < 0.1 %):');
      for (const f of paced) {
        const errors = (f.shed + f.failed) / (f.total || 1);
        console.log(
          `  ${row(f)}  errors ${pct(f.shed + f.failed, f.total)}  ${f.p95 < 200 && errors < 0.001 ? 'met' : 'NOT met'}`,
        );
      }
    }
    console.log('\n50 connections, flat out:');
    for (const f of flat) console.log(`  ${row(f)}  ratio to bare ${(f.rps / base).toFixed(2)}`);
    console.log('\nthe list route beside the cheap read, flat out:');
    for (const f of mixed) console.log(`  ${row(f)}`);
    console.log(
      `\nagainst the API's deadline (${deadlineMs} ms; target: p99 ≤ 1.1 × deadline, errors only 503 + Retry-After):`,
    );
    for (const f of [...flat.slice(1), ...mixed]) console.log(`  ${deadlineRow(f, deadlineMs)}`);
    console.log(
      `\nGET /api/v1/orders/:id reached ${(flat[1].rps / base).toFixed(2)} of the bare handler's req/s (target 0.5)`,
    );
  } finally {
    server.close();
    await stack.stop();
  }
}
