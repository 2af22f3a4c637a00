import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import express from 'express';
import { orderFixture } from '../test/helpers/cbb';
import { isolatedStack } from './support/isolated-stack';

/**
 * `npm run bench -- api [seconds]`: on an isolated stack of its own (test slot 7 unless
 * TEST_STACK_SLOT says otherwise), the API against a bare Express handler measured in
 * the same run. Each endpoint at 5,000 requests a minute (the origin's target: p95 under
 * 200 ms, errors under 0.1 %) and at 50 connections flat out; the ratio is the
 * endpoint's flat-out req/s to the bare handler's.
 */

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errorRate: number;
}

type Request = { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string };

async function measure(
  name: string,
  url: string,
  next: () => Request,
  opts: { seconds: number; rate?: number },
): Promise<Figures> {
  const result = await autocannon({
    url,
    duration: opts.seconds,
    connections: opts.rate ? 10 : 50,
    // autocannon's overallRate is requests per second across all connections.
    overallRate: opts.rate,
    requests: [{ setupRequest: (req) => ({ ...req, ...next() }) }],
  });
  const total = result.requests.total || 1;
  const errors = result.errors + result.timeouts + result.non2xx;
  // autocannon's latency object reports p97_5 and p99; p95 sits between p90 and p97.5.
  const lat = result.latency as unknown as Record<string, number>;
  return {
    name,
    rps: result.requests.average,
    p50: lat.p50,
    p95: lat.p97_5 !== undefined && lat.p90 !== undefined ? (lat.p90 + lat.p97_5) / 2 : lat.p99,
    p99: lat.p99,
    errorRate: errors / total,
  };
}

const row = (f: Figures) =>
  `${f.name.padEnd(44)} ${f.rps.toFixed(0).padStart(7)} req/s  p50 ${String(f.p50).padStart(4)} ms  p95 ~${f.p95.toFixed(0).padStart(4)} ms  p99 ${String(f.p99).padStart(4)} ms  errors ${(f.errorRate * 100).toFixed(2)} %`;

export default async function bench(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 20);
  const say = (msg: string) => console.log(`[bench] ${msg}`);
  const stack = await isolatedStack({ slot: 7, only: 'infrastructure', build: 'the worker and the API', say });
  const { s } = stack;
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
    const endpoints: [string, string, () => Request][] = [
      ['bare Express handler', bareUrl, () => ({ method: 'GET', path: '/x' })],
      ['GET /api/v1/orders/:id', api, () => ({ method: 'GET', path: `/api/v1/orders/${orderId}` })],
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
      ['GET /api/v1/workflows?pageSize=10', api, () => ({ method: 'GET', path: '/api/v1/workflows?pageSize=10' })],
    ];
    const paced: Figures[] = [];
    const flat: Figures[] = [];
    for (const [name, url, next] of endpoints) {
      say(`${name}: 5,000/min for ${seconds}s`);
      paced.push(await measure(name, url, next, { seconds, rate: 5000 / 60 }));
      say(`${name}: 50 connections flat out for ${seconds}s`);
      flat.push(await measure(name, url, next, { seconds }));
    }
    const base = flat[0].rps;
    console.log(`\nAPI benchmark, ${seconds}s per run (p95 interpolated between autocannon's p90 and p97.5)`);
    console.log('\nat 5,000 requests/min (target: p95 < 200 ms, errors < 0.1 %):');
    for (const f of paced) console.log(`  ${row(f)}  ${f.p95 < 200 && f.errorRate < 0.001 ? 'met' : 'NOT met'}`);
    console.log('\n50 connections, flat out:');
    for (const f of flat) console.log(`  ${row(f)}  ratio to bare ${(f.rps / base).toFixed(2)}`);
    console.log(
      `\nGET /api/v1/orders/:id reached ${(flat[1].rps / base).toFixed(2)} of the bare handler's req/s (target 0.5)`,
    );
  } finally {
    server.close();
    await stack.stop();
  }
}
