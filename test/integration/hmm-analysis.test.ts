import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { createHmmActivities } from '../../activities/hmm';
import { createApp } from '../../api/app';
import { createMetrics } from '../../api/metrics';
import { syntheticBars } from '../../lib/hmm';
import {
  analysisRequestSchema,
  hmmAnalysisStartOptions,
  regimeCacheKey,
  type HmmAnalysisResult,
} from '../../lib/hmm/contract';
import { createLogger } from '../../lib/infra/logger';
import { importCsv } from '../../scripts/hmm/market-data';
import { stackSettings } from '../../scripts/stack/parts';
import { importBars } from '../../store/hmm/bars';
import { hmmAnalysis } from '../../workflows/hmm';
import { recordHistory } from '../helpers/histories';
import { apiClient } from '../helpers/http';
import { accuracyUpToRelabelling } from '../helpers/hmm';
import { readPng } from '../helpers/png';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * HMM analyses against the test stack's Postgres, Redis and Temporal, with a real worker
 * running the real activities (local engine) and the API in process.
 */

const slot = Number(process.env.TEST_STACK_SLOT ?? 0);
const apiPort = 20_000 + 100 * slot + 2;
const tag = `${process.pid % 100_000}`;
const symbol = `IT${tag}`;

let stack: StackHandles;
let worker: Worker;
let running: Promise<void>;
let server: Server;
let api: ReturnType<typeof apiClient>;
let taskQueue: string;
let dir: string;
let hidden: Int32Array;

beforeAll(async () => {
  stack = await connectStack();
  taskQueue = uniqueTaskQueue('it-hmm');
  const config = { ...stack.config, hmm: { ...stack.config.hmm, taskQueue } };
  worker = await stackWorker(stack, {
    taskQueue,
    activities: createHmmActivities({ ...stack.deps, config }),
    maxHeartbeatThrottleInterval: '1s',
  });
  running = worker.run();
  const app = createApp({
    config,
    client: stack.client,
    pool: stack.pool,
    redis: stack.redis,
    log: createLogger(config, 'test-api'),
    metrics: createMetrics(),
    version: 'test',
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(apiPort, '127.0.0.1', () => resolve(s));
  });
  api = apiClient(`http://127.0.0.1:${apiPort}`);
  dir = mkdtempSync(join(stackSettings('test').dataDir, 'hmm-'));
  const generated = syntheticBars({ n: 1500, seed: 7 });
  hidden = generated.states;
  await importBars(stack.pool, symbol, generated.bars);
}, 120_000);

afterAll(async () => {
  server?.close();
  worker?.shutdown();
  await running;
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('import: a CSV of bars lands in market_bars; importing it again replaces, never duplicates', async () => {
  const sym = `CSV${tag}`;
  const file = join(dir, 'bars.csv');
  const rows = ['time,open,high,low,close,volume'];
  for (let i = 0; i < 50; i++) {
    const c = 100 + i;
    rows.push(`${new Date(Date.UTC(2024, 0, 1 + i)).toISOString()},${c},${c + 1},${c - 1},${c + 0.5},${1000 + i}`);
  }
  writeFileSync(file, rows.join('\n'));
  expect(await importCsv(stack.pool, file, sym)).toEqual({ imported: { [sym]: 50 } });
  // A corrected close for the first bar, and the same 49 others again.
  rows[1] = rows[1].replace(/,100\.5,/, ',99.25,');
  writeFileSync(file, rows.join('\n'));
  expect(await importCsv(stack.pool, file, sym)).toEqual({ imported: { [sym]: 50 } });
  const { rows: stored } = await stack.pool.query(
    'SELECT count(*)::int AS n, min(close) AS first FROM market_bars WHERE symbol = $1',
    [sym],
  );
  expect(stored[0]).toEqual({ n: 50, first: 99.25 });
});

describe('an analysis through the API and a real worker', () => {
  let result: HmmAnalysisResult;
  let analysisId: string;

  beforeAll(async () => {
    const started = await api.post('/api/v1/analyses', { symbol: symbol.toLowerCase(), states: 3, seed: 1 });
    expect(started.status).toBe(202);
    analysisId = started.body.analysisId;
    expect(analysisId).toMatch(new RegExp(`^hmm-${symbol}-[0-9a-f]{16}$`));
    const handle = stack.client.workflow.getHandle<typeof hmmAnalysis>(analysisId);
    result = await handle.result();
    await recordHistory(handle, 'completed');
  }, 120_000);

  test('the result names the regimes, the fit is honest about convergence, the timings add up', () => {
    expect(result.series).toMatchObject({ symbol, bars: 1500, observations: 1480 });
    expect(result.fit).toMatchObject({ engine: 'local', states: 3 });
    expect(result.fit.iterations).toBeGreaterThan(0);
    expect(result.fit.converged).toBe(result.fit.iterations < 100);
    expect(result.regimes.map((r) => r.label)).toEqual(['low-vol', 'mid-vol', 'high-vol']);
    const vols = result.regimes.map((r) => r.volatility);
    expect(vols[0]).toBeLessThan(vols[1]);
    expect(vols[1]).toBeLessThan(vols[2]);
    expect(result.regimes.reduce((n, r) => n + r.bars, 0)).toBe(1480);
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(result.timings.fitMs!);
  });

  test('the regimes are stored, one per observation, and follow the hidden regimes of the synthetic prices', async () => {
    const { rows } = await stack.pool.query(
      'SELECT state, probability, filtered FROM hmm_regimes WHERE run_id = $1 ORDER BY time',
      [analysisId],
    );
    expect(rows).toHaveLength(1480);
    for (const r of rows) {
      expect(r.filtered).toHaveLength(3);
      expect(r.filtered.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
      expect(r.probability).toBeCloseTo(r.filtered[r.state], 12);
    }
    const path = rows.map((r) => r.state as number);
    // Row i belongs to bar 20 + i (the rolling windows' warm-up).
    expect(accuracyUpToRelabelling(path, hidden.subarray(20), 3)).toBeGreaterThan(0.8);
    const run = await stack.pool.query('SELECT status, converged, log_likelihood FROM hmm_runs WHERE id = $1', [
      analysisId,
    ]);
    expect(run.rows[0]).toEqual({
      status: 'completed',
      converged: result.fit.converged,
      log_likelihood: result.fit.logLikelihood,
    });
  });

  test('the latest regime is cached in Redis for 10 minutes and served by the regime route', async () => {
    const ttl = await stack.redis.ttl(regimeCacheKey(symbol));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600);
    const res = await api.get(`/api/v1/symbols/${symbol}/regime`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ source: 'cache', symbol, analysisId, label: result.latest.label });
    expect(res.body.probability).toBeCloseTo(Math.max(...res.body.probabilities), 12);
  });

  test('without a cached regime the route computes it (the default analysis) and caches it', async () => {
    await stack.redis.del(regimeCacheKey(symbol));
    const res = await api.get(`/api/v1/symbols/${symbol}/regime`);
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('computed');
    expect(res.body.analysisId).toBe(hmmAnalysisStartOptions(analysisRequestSchema.parse({ symbol })).workflowId);
    expect(JSON.parse((await stack.redis.get(regimeCacheKey(symbol)))!)).toMatchObject({ time: res.body.time });
    expect((await api.get('/api/v1/symbols/NOBARS/regime')).status).toBe(404);
  }, 120_000);

  test('GET /analyses/:id shows the model, regimes, convergence, timings and the Web UI link', async () => {
    const res = await api.get(`/api/v1/analyses/${analysisId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'completed',
      symbol,
      convergence: { states: 3, converged: result.fit.converged, iterations: result.fit.iterations },
      regimes: { count: 1480 },
      workflow: { status: 'COMPLETED' },
    });
    expect(res.body.workflow.webUiUrl).toContain(encodeURIComponent(analysisId));
    expect(res.body.model.states.map((s: any) => s.label)).toEqual(['low-vol', 'mid-vol', 'high-vol']);
    expect((await api.get('/api/v1/analyses/hmm-NOPE-0123456789abcdef')).status).toBe(404);
  });

  test('the chart draws in headless Chromium: price by regime, probabilities, legend', async () => {
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/analyses/${analysisId}/chart.svg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('image/svg+xml');
    const svg = await res.text();
    expect(svg).toContain('low-vol: mean');
    const file = join(dir, 'chart.svg');
    const png = join(dir, 'chart.png');
    writeFileSync(file, svg);
    const profile = join(dir, 'chromium');
    mkdirSync(profile);
    await promisify(execFile)(
      '/usr/bin/chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        `--screenshot=${png}`,
        '--window-size=1000,700',
        `file://${file}`,
      ],
      { timeout: 90_000 },
    );
    const image = readPng(readFileSync(png));
    expect([image.width, image.height]).toEqual([1000, 700]);
    const counts = new Map<number, number>();
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const c = image.rgb(x, y);
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
    }
    const white = counts.get(0xffffff) ?? 0;
    expect(white).toBeLessThan(image.width * image.height * 0.9);
    // The three regime colours fill the probability panel: each covers many pixels.
    for (const colour of [0x1b9e4b, 0xf2c12e, 0xd8432c]) {
      const near = [...counts].filter(([c]) => closeTo(c, colour)).reduce((n, [, k]) => n + k, 0);
      expect(near).toBeGreaterThan(500);
    }
  }, 120_000);
});

/** Within a few levels per channel: the probability areas are drawn slightly transparent over white. */
function closeTo(c: number, target: number): boolean {
  const blend = (v: number) => Math.round(0.85 * v + 0.15 * 255);
  return [16, 8, 0].every((shift) => Math.abs(((c >> shift) & 255) - blend((target >> shift) & 255)) <= 6);
}

test('the same request while one runs joins it; cancelling mid-fit stops the fit and records it', async () => {
  const sym = `LONG${tag}`;
  await importBars(stack.pool, sym, syntheticBars({ n: 20_000, seed: 11 }).bars);
  // tol 0 and many iterations: a fit that runs until it is cancelled.
  const body = { symbol: sym, states: 4, restarts: 64, nIter: 10_000, tol: 0 };
  const first = await api.post('/api/v1/analyses', body);
  expect(first.status).toBe(202);
  const handle = stack.client.workflow.getHandle(first.body.analysisId);
  let heartbeat: any;
  await waitUntil(
    'the fit to heartbeat an EM iteration',
    async () => {
      const d = await handle.describe();
      const payload = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
      heartbeat = payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
      return heartbeat?.iteration >= 1;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
  expect(heartbeat).toMatchObject({ states: 4, restart: 0 });
  expect(Number.isFinite(heartbeat.logLikelihood)).toBe(true);

  const second = await api.post('/api/v1/analyses', { ...body, symbol: sym.toLowerCase() });
  expect(second.status).toBe(200);
  expect(second.body).toMatchObject({ joined: true, analysisId: first.body.analysisId, runId: first.body.runId });
  const live = await api.get(`/api/v1/analyses/${first.body.analysisId}`);
  expect(live.body).toMatchObject({
    status: 'running',
    workflow: { status: 'RUNNING', progress: { state: 'fitting' } },
  });
  expect(live.body.workflow.fitProgress.iteration).toBeGreaterThanOrEqual(1);

  await handle.cancel();
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  const { rows } = await stack.pool.query('SELECT status, error FROM hmm_runs WHERE id = $1', [handle.workflowId]);
  expect(rows[0]).toEqual({ status: 'cancelled', error: 'cancelled' });
  await recordHistory(handle, 'cancelled');
}, 180_000);

test('a constant series fails at once with the reason, not retried, and no fit runs', async () => {
  const sym = `FLAT${tag}`;
  const bars = Array.from({ length: 200 }, (_, i) => ({
    time: Date.UTC(2023, 0, 1) + i * 86_400_000,
    open: 50,
    high: 50,
    low: 50,
    close: 50,
    volume: 10,
  }));
  await importBars(stack.pool, sym, bars);
  const params = analysisRequestSchema.parse({ symbol: sym, features: 'returns' });
  const handle = await stack.client.workflow.start(hmmAnalysis, { ...hmmAnalysisStartOptions(params), taskQueue });
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause.type).toBe('ValidationError');
  expect(cause.nonRetryable).toBe(true);
  expect(cause.message).toContain('constant series has no regimes');
  const history = await handle.fetchHistory();
  const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes);
  expect(scheduled.map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name)).toEqual([
    'beginAnalysis',
    'loadBars',
    'recordOutcome',
  ]);
  const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes);
  expect(started.every((e) => e.activityTaskStartedEventAttributes!.attempt === 1)).toBe(true);
  const { rows } = await stack.pool.query('SELECT status, error FROM hmm_runs WHERE id = $1', [handle.workflowId]);
  expect(rows[0].status).toBe('failed');
  expect(rows[0].error).toContain('constant');
  await recordHistory(handle, 'invalid-input');
}, 60_000);
