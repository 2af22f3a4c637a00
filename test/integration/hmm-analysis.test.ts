import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticBars } from '../../lib/hmm';
import {
  analysisRequestSchema,
  hmmAnalysisStartOptions,
  regimeCacheKey,
  type HmmAnalysisResult,
} from '../../lib/hmm/contract';
import { importCsv } from '../../scripts/hmm/market-data';
import { importBars } from '../../store/hmm/bars';
import { hmmAnalysis } from '../../workflows/hmm';
import { headlessChromium } from '../helpers/chromium';
import { recordHistory } from '../helpers/histories';
import { accuracyUpToRelabelling } from '../helpers/hmm';
import { hmmTestFile, symbolTag } from '../helpers/hmm-stack';
import { readPng } from '../helpers/png';

/**
 * HMM analyses against the test stack's Postgres, Redis and Temporal, with a real worker
 * running the real activities (local engine) and the API in process (test/helpers/hmm-stack.ts):
 * bars imported from a CSV, and one analysis of synthetic prices whose hidden regimes are known,
 * seen through its result, its records, the cache, the routes and the chart.
 */
const file = hmmTestFile();
const symbol = `IT${symbolTag}`;
let hidden: Int32Array;

beforeAll(async () => {
  const generated = syntheticBars({ n: 1500, seed: 7 });
  hidden = generated.states;
  await importBars(file.stack.pool, symbol, generated.bars);
}, 120_000);

test('import: a CSV of bars lands in market_bars; importing it again replaces, never duplicates', async () => {
  const sym = `CSV${symbolTag}`;
  const csvFile = join(file.dir, 'bars.csv');
  const rows = ['time,open,high,low,close,volume'];
  for (let i = 0; i < 50; i++) {
    const c = 100 + i;
    rows.push(`${new Date(Date.UTC(2024, 0, 1 + i)).toISOString()},${c},${c + 1},${c - 1},${c + 0.5},${1000 + i}`);
  }
  writeFileSync(csvFile, rows.join('\n'));
  expect(await importCsv(file.stack.pool, csvFile, sym)).toEqual({ imported: { [sym]: 50 } });
  // A corrected close for the first bar, and the same 49 others again.
  rows[1] = rows[1].replace(/,100\.5,/, ',99.25,');
  writeFileSync(csvFile, rows.join('\n'));
  expect(await importCsv(file.stack.pool, csvFile, sym)).toEqual({ imported: { [sym]: 50 } });
  const { rows: stored } = await file.stack.pool.query(
    'SELECT count(*)::int AS n, min(close) AS first FROM market_bars WHERE symbol = $1',
    [sym],
  );
  expect(stored[0]).toEqual({ n: 50, first: 99.25 });
});

describe('an analysis through the API and a real worker', () => {
  let result: HmmAnalysisResult;
  let analysisId: string;

  beforeAll(async () => {
    const started = await file.api.post('/api/v1/analyses', { symbol: symbol.toLowerCase(), states: 3, seed: 1 });
    expect(started.status).toBe(202);
    analysisId = started.body.analysisId;
    expect(analysisId).toMatch(new RegExp(`^hmm-${symbol}-[0-9a-f]{16}$`));
    const handle = file.stack.client.workflow.getHandle<typeof hmmAnalysis>(analysisId);
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
    const { rows } = await file.stack.pool.query(
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
    const run = await file.stack.pool.query('SELECT status, converged, log_likelihood FROM hmm_runs WHERE id = $1', [
      analysisId,
    ]);
    expect(run.rows[0]).toEqual({
      status: 'completed',
      converged: result.fit.converged,
      log_likelihood: result.fit.logLikelihood,
    });
  });

  test('the latest regime is cached in Redis for 10 minutes and served by the regime route', async () => {
    const ttl = await file.stack.redis.ttl(regimeCacheKey(symbol));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600);
    const res = await file.api.get(`/api/v1/symbols/${symbol}/regime`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ source: 'cache', symbol, analysisId, label: result.latest.label });
    expect(res.body.probability).toBeCloseTo(Math.max(...res.body.probabilities), 12);
  });

  test('without a cached regime the route computes it (the default analysis) and caches it', async () => {
    await file.stack.redis.del(regimeCacheKey(symbol));
    const res = await file.api.get(`/api/v1/symbols/${symbol}/regime`);
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('computed');
    expect(res.body.analysisId).toBe(hmmAnalysisStartOptions(analysisRequestSchema.parse({ symbol })).workflowId);
    expect(JSON.parse((await file.stack.redis.get(regimeCacheKey(symbol)))!)).toMatchObject({ time: res.body.time });
    expect((await file.api.get('/api/v1/symbols/NOBARS/regime')).status).toBe(404);
  }, 120_000);

  test('GET /analyses/:id shows the model, regimes, convergence, timings and the Web UI link', async () => {
    const res = await file.api.get(`/api/v1/analyses/${analysisId}`);
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
    expect((await file.api.get('/api/v1/analyses/hmm-NOPE-0123456789abcdef')).status).toBe(404);
  });

  test('the chart draws in headless Chromium: price by regime, probabilities, legend', async () => {
    const res = await fetch(`${file.apiUrl}/api/v1/analyses/${analysisId}/chart.svg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('image/svg+xml');
    const svg = await res.text();
    expect(svg).toContain('low-vol: mean');
    const svgFile = join(file.dir, 'chart.svg');
    const png = join(file.dir, 'chart.png');
    writeFileSync(svgFile, svg);
    const profile = join(file.dir, 'chromium');
    mkdirSync(profile);
    await headlessChromium(profile, [`--screenshot=${png}`, '--window-size=1000,700', `file://${svgFile}`], 90_000);
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
