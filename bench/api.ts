import type { AddressInfo } from 'node:net';
import express from 'express';
import { orderFixture } from '../test/helpers/cbb';
import { isolatedStack } from './support/isolated-stack';
import { type Figures, type LoadOptions, type Request, errorRate, measure, pooled } from './support/load';
import { type Spread, formatSpread, pairedRounds, spreadOf } from './support/rounds';

/**
 * `npm run bench -- api [seconds] [rounds] [flat]`: on an isolated stack of its own (test
 * slot 7 unless TEST_STACK_SLOT says otherwise), each route against a bare Express handler
 * measured in the same run, in paired rounds (ABBA, bench/support/rounds.ts) of `seconds`
 * each (default 4 s, 3 rounds: every arm runs at least 10 s in all). Each route at 5,000
 * requests a minute (the origin's target: p95 under 200 ms, errors under 0.1 %) and at 50
 * connections flat out; then the slow list route flat out beside the cheap read, to see
 * whether one starves the other. `flat` skips the paced runs. The ratio is the route's
 * flat-out req/s to the bare handler's, round by round; the deadline check is issue #21's:
 * no p99 more than 10 % past the API's deadline, and every error a 503 with Retry-After.
 * The writes run last: the syncs they start keep the worker and Temporal busy for a while.
 */

interface Arm {
  name: string;
  url: string;
  next: () => Request;
}

interface Paired {
  /** Every round of the route pooled: percentiles over all its answers. */
  subject: Figures;
  /** The route's figure (p95 paced, req/s flat out), the bare handler's, and route / bare, per round. */
  figure: Spread;
  bare: Spread;
  ratio: Spread;
  /** Answers below 500 per second over the bare handler's req/s, per round: what the route served, not shed. */
  served: Spread;
  errors: Spread;
}

const ms = (n: number) => `${n.toFixed(0)} ms`;
const pct = (n: number, total: number) => `${((n / (total || 1)) * 100).toFixed(2)} %`;
const spreadPct = (s: Spread) => `${(s.median * 100).toFixed(2)} % ±${Math.round(s.spread * 100)} %`;
const latencies = (f: Figures) =>
  `p50 ${String(f.p50).padStart(4)}  p95 ${String(f.p95).padStart(4)}  p99 ${String(f.p99).padStart(4)}  max ${String(f.max).padStart(5)} ms`;

function deadlineRow(f: Figures, deadlineMs: number): string {
  const held = f.p99 <= deadlineMs * 1.1 && f.failed === 0;
  return (
    `${f.name.padEnd(44)} p99 ${String(f.p99).padStart(5)} ms = ${(f.p99 / deadlineMs).toFixed(2)} of the deadline;` +
    ` answered <500 ${pct(f.ok, f.total)} (p99 ${f.okP99} ms), 503+Retry-After ${pct(f.shed, f.total)}` +
    ` (p99 ${f.shedP99} ms, max ${f.shedMax} ms), other errors ${pct(f.failed, f.total)}  ${held ? 'held' : 'NOT held'}`
  );
}

/** Sum of a Prometheus series' samples whose labels include `labels`, from the text format. */
function seriesSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Where a POST's time goes, from the API's own metrics between two scrapes. */
function writeBreakdown(before: string, after: string): string {
  const delta = (name: string, labels?: Record<string, string>) =>
    seriesSum(after, name, labels) - seriesSum(before, name, labels);
  const post = { method: 'POST', route: '/api/v1/orders/' };
  const requests = delta('orchestrator_api_request_duration_seconds_count', post);
  const requestMs = (delta('orchestrator_api_request_duration_seconds_sum', post) * 1000) / (requests || 1);
  const start = { type: 'cbbSyncOrder' };
  const starts = delta('orchestrator_api_workflow_start_duration_seconds_count', start);
  const startMs = (delta('orchestrator_api_workflow_start_duration_seconds_sum', start) * 1000) / (starts || 1);
  const failed = delta('orchestrator_api_workflow_start_duration_seconds_count', { ...start, outcome: 'failed' });
  const insert = { query: 'insert orders' };
  const inserts = delta('orchestrator_api_db_query_duration_seconds_count', insert);
  const insertMs = (delta('orchestrator_api_db_query_duration_seconds_sum', insert) * 1000) / (inserts || 1);
  const share = (part: number) => `${Math.round((part / (requestMs || 1)) * 100)} %`;
  return (
    `${requests} requests, mean ${ms(requestMs)} in the API: Temporal's start ${ms(startMs)} (${share(startMs)}),` +
    ` the insert ${ms(insertMs)} (${share(insertMs)}), the rest ${ms(requestMs - startMs - insertMs)};` +
    ` ${failed} starts not taken in time (the order answered \`queued\`, the sweep starts its sync)`
  );
}

export default async function bench(args: string[]): Promise<void> {
  const [seconds = 4, rounds = 3] = args.filter((a) => /^\d+$/.test(a)).map(Number);
  const flatOnly = args.includes('flat');
  if (seconds * rounds < 10)
    throw new Error(`every arm must run at least 10 s over its rounds: ${seconds} s × ${rounds} rounds is too short`);
  const say = (msg: string) => console.log(`[bench] ${msg}`);
  const stack = await isolatedStack({ slot: 7, only: 'infrastructure', build: 'the worker and the API', say });
  const { s } = stack;
  const deadlineMs = stack.config.api.deadlineMs;
  await stack.startApp('worker', { LOG_LEVEL: 'warn' });
  await stack.startApp('api', { LOG_LEVEL: 'warn' });
  const api = `http://127.0.0.1:${s.ports.api}`;
  const scrape = () => fetch(`${api}/metrics`).then((r) => r.text());

  const app = express();
  app.get('/x', (_req, res) => res.json({ id: '1', status: 'ok' }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const bare: Arm = {
    name: 'bare Express handler',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    next: () => ({ method: 'GET', path: '/x' }),
  };
  const paced: LoadOptions = { seconds, connections: 10, rate: 5000 / 60 };
  const flat: LoadOptions = { seconds, connections: 50 };

  /** `rounds` ABBA pairs of the bare handler and the route under the same load. */
  async function paired(route: Arm, opts: LoadOptions): Promise<Paired> {
    const mode = opts.rate ? '5,000/min' : `${opts.connections} connections flat out`;
    say(`${route.name}: ${mode}, ${rounds} paired rounds of ${seconds} s`);
    const figure = (f: Figures) => (opts.rate ? f.p95 : f.rps);
    const arms = { bare: [] as Figures[], route: [] as Figures[] };
    const run = async (arm: Arm, into: Figures[]) => {
      const f = await measure(arm.name, arm.url, arm.next, opts);
      into.push(f);
      return figure(f);
    };
    const r = await pairedRounds({
      rounds,
      baseline: () => run(bare, arms.bare),
      subject: () => run(route, arms.route),
      onRound: (i, b, x) => say(`  round ${i + 1}: bare ${b.toFixed(0)}, route ${x.toFixed(0)}`),
    });
    return {
      subject: pooled(route.name, arms.route),
      figure: r.subject,
      bare: r.baseline,
      ratio: r.ratio,
      served: spreadOf(arms.route.map((f, i) => (f.rps * (f.ok / (f.total || 1))) / arms.bare[i]!.rps)),
      errors: spreadOf(arms.route.map(errorRate)),
    };
  }

  try {
    const seeded = await fetch(`${api}/api/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(orderFixture()),
    }).then((r) => r.json() as Promise<{ order: { id: string } }>);
    const orderId = seeded.order.id;
    let n = 0;
    const getOrder: Arm = {
      name: 'GET /api/v1/orders/:id',
      url: api,
      next: () => ({ method: 'GET', path: `/api/v1/orders/${orderId}` }),
    };
    const reads: Arm[] = [
      getOrder,
      {
        name: 'GET /api/v1/orders/:id?live=true',
        url: api,
        next: () => ({ method: 'GET', path: `/api/v1/orders/${orderId}?live=true` }),
      },
      {
        name: 'GET /api/v1/workflows?pageSize=10',
        url: api,
        next: () => ({ method: 'GET', path: '/api/v1/workflows?pageSize=10' }),
      },
    ];
    const write: Arm = {
      name: 'POST /api/v1/orders (unique ids)',
      url: api,
      next: () => ({
        method: 'POST',
        path: '/api/v1/orders',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(orderFixture({ externalId: `BENCH-${process.pid}-${++n}`, whatsappAlerts: false })),
      }),
    };

    const pacedResults: Paired[] = [];
    const flatResults: Paired[] = [];
    for (const route of reads) {
      if (!flatOnly) pacedResults.push(await paired(route, paced));
      flatResults.push(await paired(route, flat));
    }
    const total = seconds * rounds;
    say(`GET /api/v1/workflows at 40 connections beside GET /api/v1/orders/:id at 10, flat out for ${total} s`);
    const mixed = await Promise.all([
      measure('GET /api/v1/workflows (40, beside orders)', api, reads[2]!.next, { seconds: total, connections: 40 }),
      measure('GET /api/v1/orders/:id (10, beside workflows)', api, getOrder.next, { seconds: total, connections: 10 }),
    ]);
    const breakdown: string[] = [];
    for (const [opts, into, label] of [
      [paced, pacedResults, '5,000/min'],
      [flat, flatResults, 'flat out'],
    ] as const) {
      if (flatOnly && opts === paced) continue;
      const before = await scrape();
      into.push(await paired(write, opts));
      breakdown.push(`${label}: ${writeBreakdown(before, await scrape())}`);
    }

    console.log(
      `\nAPI benchmark: ${rounds} paired rounds (ABBA against the bare handler) of ${seconds} s per arm;` +
        ` figures are medians ± half their range over the rounds; p50/p95/p99/max pool every answer of the route's rounds`,
    );
    if (pacedResults.length) {
      console.log('\nat 5,000 requests/min, 10 connections (target: p95 < 200 ms, errors < 0.1 %):');
      for (const p of pacedResults) {
        const met = p.figure.median < 200 && p.errors.median < 0.001;
        console.log(
          `  ${p.subject.name.padEnd(40)} p95 ${formatSpread(p.figure, 0)} ms (bare ${p.bare.median.toFixed(0)} ms)` +
            `  errors ${spreadPct(p.errors)}  pooled ${latencies(p.subject)}  ${met ? 'met' : 'NOT met'}`,
        );
      }
    }
    console.log(
      '\n50 connections, flat out (ratio: the route’s req/s, every answer, to the bare handler’s, round by round;' +
        ' served: its answers below 500 only; errors: 503 + Retry-After included):',
    );
    for (const p of flatResults)
      console.log(
        `  ${p.subject.name.padEnd(40)} ${p.figure.median.toFixed(0).padStart(6)} req/s ±${Math.round(p.figure.spread * 100)} %` +
          `  ratio to bare ${formatSpread(p.ratio)} (served, <500: ${p.served.median.toFixed(2)} ±${Math.round(p.served.spread * 100)} %)` +
          `  errors ${spreadPct(p.errors)}  pooled ${latencies(p.subject)}`,
      );
    console.log(`  (bare handler: ${formatSpread(flatResults[0]!.bare, 0)} req/s in the first route's rounds)`);
    console.log('\nthe list route beside the cheap read, flat out:');
    for (const f of mixed) console.log(`  ${f.name.padEnd(44)} ${f.rps.toFixed(0).padStart(6)} req/s  ${latencies(f)}`);
    console.log('\nwhere a POST /api/v1/orders spends its time (the API’s metrics, route rounds only):');
    for (const line of breakdown) console.log(`  ${line}`);
    console.log(
      `\nagainst the API's deadline (${deadlineMs} ms; target: p99 ≤ 1.1 × deadline, errors only 503 + Retry-After):`,
    );
    for (const f of [...flatResults.map((p) => p.subject), ...mixed]) console.log(`  ${deadlineRow(f, deadlineMs)}`);
    console.log(
      `\nGET /api/v1/orders/:id reached ${formatSpread(flatResults[0]!.ratio)} of the bare handler's req/s (target 0.5)`,
    );
  } finally {
    server.close();
    await stack.stop();
  }
}
