import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/infra/config';
import type { RolloutSpecInput } from '../../lib/rollout/spec';
import { haproxySocketPath, startHaproxy } from '../stack/haproxy';
import { appEnv, stackSettings } from '../stack/parts';
import { prometheusTargetsDir } from '../stack/prometheus';
import { projectRoot, testSlot } from '../stack/settings';
import { up } from '../stack/stack';
import {
  removeScrapeTargets,
  startDemoService,
  startLoad,
  writeScrapeTargets,
  type DemoService,
} from './demo-services';

/**
 * `npm run demo:rollout -- [--bad errors|latency] [--test-stack] [--no-build]`: a canary rollout through
 * HAProxy, judged on Prometheus figures, told stage by stage.
 *
 * It builds the project and starts what it needs: the stack's parts that are not running
 * yet (as `npm run up` would, reusing those that are; `--test-stack` uses the test stack of
 * TEST_STACK_SLOT instead, beside a user's stack), then HAProxy in front of a stable and a canary demo
 * service, both scraped by the stack's Prometheus every second, and a bounded load of
 * 40 requests a second. The rollout is started through the API with short stages. The
 * stack keeps running afterwards (`npm run down` stops it); the demo's own processes stop.
 * Its last line is `rollout <id>: <final phase> at weight <w>`.
 */

// Each run's services carry a `run` label (from the scrape targets file), so that a run never
// judges the figures of the services of the run before it.
const errorRateQuery = (run: string) =>
  `sum(rate(demo_requests_total{version="{{variant}}",run="${run}",outcome="error"}[{{window}}])) / sum(rate(demo_requests_total{version="{{variant}}",run="${run}"}[{{window}}]))`;
const p95Query = (run: string) =>
  `histogram_quantile(0.95, sum by (le) (rate(demo_request_duration_seconds_bucket{version="{{variant}}",run="${run}"}[{{window}}])))`;

function demoSpec(target: string): RolloutSpecInput {
  const metric = { interval: '5s', window: '15s', inconclusiveLimit: 3 };
  return {
    target,
    version: 'canary',
    traffic: { controller: 'haproxy', backend: 'app' },
    steps: [
      { setWeight: 20 },
      { pause: { duration: '20s' } },
      { setWeight: 50 },
      { pause: { duration: '20s' } },
      { setWeight: 100 },
    ],
    templates: [
      {
        name: 'default',
        metrics: [
          {
            name: 'error-rate',
            provider: { type: 'prometheus', query: errorRateQuery(target) },
            successCondition: { max: 0.05 },
            relative: { maxIncrease: 0.5, minDelta: 0.01 },
            ...metric,
          },
          {
            name: 'latency-p95',
            provider: { type: 'prometheus', query: p95Query(target) },
            successCondition: { max: 0.5 },
            relative: { maxIncrease: 0.3, minDelta: 0.05 },
            ...metric,
          },
        ],
      },
    ],
    rollbackWindow: '20s',
  };
}

const say = (msg: string) => console.log(`[demo] ${msg}`);

async function main(): Promise<string> {
  const { values } = parseArgs({
    options: { bad: { type: 'string' }, 'test-stack': { type: 'boolean' }, 'no-build': { type: 'boolean' } },
  });
  if (values.bad !== undefined && values.bad !== 'errors' && values.bad !== 'latency') {
    throw new Error(`--bad takes errors or latency, got ${values.bad}`);
  }
  const s = stackSettings(values['test-stack'] ? 'test' : 'local');
  Object.assign(process.env, appEnv(s), { LOG_PRETTY: 'false' });
  const config = loadConfig();
  const api = `http://127.0.0.1:${s.ports.api}`;
  const ports =
    s.profile === 'local'
      ? { haproxy: 8480, stable: 8481, canary: 8482 }
      : { haproxy: 20_010 + 100 * testSlot(), stable: 20_011 + 100 * testSlot(), canary: 20_012 + 100 * testSlot() };

  // By default: a worker started from an earlier build would run the rollout with earlier
  // code. `--no-build` is for a caller that has just built (the tests).
  if (!values['no-build']) {
    say('building (tsc and the workflow bundle)');
    execFileSync('npm', ['run', '-s', 'build'], { cwd: projectRoot, stdio: 'inherit' });
  }
  say(`starting the stack parts that are not running (${s.profile} stack in ${s.dataDir})`);
  await up(s, { onStep: (m) => say(`  ${m}`) });

  const services: DemoService[] = [];
  let haproxy: Awaited<ReturnType<typeof startHaproxy>> | undefined;
  let load: ReturnType<typeof startLoad> | undefined;
  const targets = prometheusTargetsDir(s);
  try {
    const canaryKnobs =
      values.bad === 'errors' ? { errorRate: 0.3 } : values.bad === 'latency' ? { latencyMs: 900, jitterMs: 100 } : {};
    say(`starting the stable and the ${values.bad ? `bad (${values.bad})` : 'healthy'} canary demo services`);
    services.push(await startDemoService(s, { version: 'stable', port: ports.stable }));
    services.push(await startDemoService(s, { version: 'canary', port: ports.canary, ...canaryKnobs }));
    haproxy = await startHaproxy(s, {
      dir: dirname(haproxySocketPath(s)),
      frontendPort: ports.haproxy,
      stablePort: ports.stable,
      canaryPort: ports.canary,
    });
    say(`HAProxy at ${haproxy.url}: stable weight 100, canary weight 0 (runtime API ${haproxy.socketPath})`);
    const target = `demo-${Date.now().toString(36)}`;
    writeScrapeTargets(targets, 'rollout-demo', [
      { address: `127.0.0.1:${ports.stable}`, labels: { service: 'demo', run: target } },
      { address: `127.0.0.1:${ports.canary}`, labels: { service: 'demo', run: target } },
    ]);
    await waitForScrape(config.rollout.prometheusUrl as string, target);
    load = startLoad(haproxy.url, { rate: 40, concurrency: 8 });
    say('load: 40 requests a second through HAProxy');

    const headers = {
      'content-type': 'application/json',
      'x-requested-by': 'demo',
      ...(config.api.token ? { authorization: `Bearer ${config.api.token}` } : {}),
    };
    const res = await fetch(`${api}/api/v1/rollouts`, {
      method: 'POST',
      headers,
      body: JSON.stringify(demoSpec(target)),
    });
    const started = (await res.json()) as { id: string; webUiUrl: string; detail?: string };
    if (res.status !== 201) throw new Error(`the API refused the rollout: HTTP ${res.status} ${started.detail}`);
    say(`rollout ${started.id} started through the API: 20 % → pause 20s → 50 % → pause 20s → 100 %, watch 20s`);
    say(`Web UI: ${started.webUiUrl}`);
    const final = await narrate(api, started.id, headers);
    if (final.phase === 'aborted') say(`why, in the Web UI (its current details): ${started.webUiUrl}`);
    const served = Object.entries(load.counts)
      .map(([v, c]) => `${v} ${c.ok} ok / ${c.error} errors`)
      .join(', ');
    say(`requests served: ${served}`);
    return `rollout ${started.id}: ${final.phase} at weight ${final.weight}`;
  } finally {
    await load?.stop();
    removeScrapeTargets(targets, 'rollout-demo');
    await haproxy?.stop();
    await Promise.all(services.map((d) => d.stop()));
  }
}

async function waitForScrape(prometheusUrl: string, run: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(
      `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(`count(demo_requests_total{run="${run}"})`)}`,
    ).catch(() => undefined);
    const body = (await res?.json().catch(() => undefined)) as { data?: { result?: { value: [number, string] }[] } };
    if (Number(body?.data?.result?.[0]?.value[1] ?? 0) >= 4) return;
    if (Date.now() > deadline)
      throw new Error(`Prometheus at ${prometheusUrl} did not scrape the demo services in 60 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface View {
  record: { phase: string; weight: number; stepIndex: number } | null;
  status: { phase: string; weight: number; stepIndex: number; details: string } | null;
  measurements: {
    seq: number;
    metric: string;
    verdict: string;
    canary: number | null;
    baseline: number | null;
    reason: string;
  }[];
  incidents: {
    kind: string;
    reason: string;
    weightBefore: number;
    failing: { metric: string; measurements: number; failed: number }[];
    lastVerdicts: { metric: string; verdict: string; reason: string }[];
  }[];
}

/** Tells each stage and measurement as the rollout goes, until it settles. */
async function narrate(api: string, id: string, headers: Record<string, string>) {
  let lastLine = '';
  let lastSeq = 0;
  const deadline = Date.now() + 10 * 60_000;
  const fmt = (x: number | null) => (x === null ? '–' : x.toFixed(3));
  for (;;) {
    const res = await fetch(`${api}/api/v1/rollouts/${id}`, { headers });
    const view = (await res.json()) as View;
    for (const m of view.measurements.filter((m) => m.seq > lastSeq)) {
      lastSeq = m.seq;
      say(`    ${m.metric}: ${m.verdict} (canary ${fmt(m.canary)}, baseline ${fmt(m.baseline)})`);
    }
    const now = view.status ?? view.record;
    if (now) {
      const line = view.status?.details ?? `${now.phase} at weight ${now.weight} %`;
      if (line !== lastLine) say(`${now.phase.padEnd(20)} ${line}`);
      lastLine = line;
      const settled = (now.phase === 'promoted' && now.weight === 100) || (now.phase === 'aborted' && now.weight === 0);
      // The status answers once the weight is 0; the incident's record follows it.
      if (settled && (now.phase !== 'aborted' || view.incidents.length > 0)) {
        for (const i of view.incidents) {
          say(`incident (${i.kind}, from weight ${i.weightBefore} %): ${i.reason}`);
          for (const f of i.failing)
            say(`  failing: ${f.metric}, ${f.failed} of ${f.measurements} measurements failed`);
          for (const v of i.lastVerdicts) say(`  last ${v.metric}: ${v.verdict}: ${v.reason}`);
        }
        return now;
      }
    }
    if (Date.now() > deadline) throw new Error(`rollout ${id} did not settle within 10 minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().then(
  (line) => {
    console.log(line);
    process.exit(0);
  },
  (err: Error) => {
    console.error(`[demo] failed: ${err.message}`);
    process.exit(1);
  },
);
