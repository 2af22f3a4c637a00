import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { createBatchMigrationMetrics } from '../../activities/batch-migration/metrics';
import { createCbbMetrics } from '../../activities/cbb/metrics';
import { createHmmMetrics } from '../../activities/hmm/metrics';
import { createRolloutMetrics } from '../../activities/rollout/metrics';
import { createVmMetrics } from '../../activities/vm/metrics';
import { registerBusinessGauges } from '../../api/business-metrics';
import { createMetrics } from '../../api/metrics';
import { throttleWaits } from '../../lib/batch-migration/metrics';
import type { Pool } from '../../lib/infra/db';
import type { Logger } from '../../lib/infra/logger';
import { stackSettings } from '../../scripts/stack/parts';
import { prometheusConfig, prometheusRuleFiles, stackScrapeJobs } from '../../scripts/stack/prometheus';
import { fakeMeter } from '../helpers/fake-meter';
import { projectRoot } from '../helpers/paths';

const rulesDir = join(projectRoot, 'prometheus', 'rules');
const rules = readdirSync(rulesDir).flatMap((f) => {
  const doc = load(readFileSync(join(rulesDir, f), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules);
});

test("the stack's Prometheus configuration loads the repository's rules and scrapes the API, both workers and Temporal", () => {
  const s = stackSettings('test');
  const dir = mkdtempSync(join(tmpdir(), 'prom-config-'));
  try {
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, prometheusConfig(stackScrapeJobs(s), '5s', prometheusRuleFiles(s)));
    const out = execFileSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
    // promtool reads every rule file the configuration names and counts their rules.
    const found = [...out.matchAll(/SUCCESS: (\d+) rules found/g)].map((m) => Number(m[1]));
    expect(found.reduce((a, b) => a + b, 0)).toBe(rules.length);
    expect(out).toMatch(new RegExp(`SUCCESS: ${readdirSync(rulesDir).length} rule files found`));
    const targets = stackScrapeJobs(s).flatMap((j) => j.targets ?? []);
    for (const port of [s.ports.api, s.ports.workerMetrics, s.ports.hmmWorkerMetrics, s.ports.temporalMetrics])
      expect(targets).toContain(`127.0.0.1:${port}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every series a rule reads is one the worker or the API exports', () => {
  const f = fakeMeter();
  for (const make of [
    createCbbMetrics,
    createBatchMigrationMetrics,
    createRolloutMetrics,
    createVmMetrics,
    createHmmMetrics,
  ])
    make(f.meter);
  throttleWaits(f.meter, 'trades-risk-score');
  const api = createMetrics();
  registerBusinessGauges(api.registry, {} as Pool, {} as Logger);
  const exported = new Set([...f.instruments.keys(), ...api.registry.getMetricsAsArray().map((m) => m.name)]);

  const recorded = new Set(rules.flatMap((r) => ('record' in r ? [r.record as string] : [])));
  // The names in each expression once grouping clauses, selectors and ranges are taken out.
  const read = new Set(
    rules
      .flatMap((r) => [
        ...r.expr
          .replace(/\b(by|on|without|ignoring)\s*\([^)]*\)/g, ' ')
          .replace(/\{[^}]*\}|\[[^\]]*\]/g, ' ')
          .matchAll(/\b[a-z_][a-z0-9_:]*\b/g),
      ])
      .map((m) => m[0]),
  );
  const functionsAndWords = /^(sum|max|rate|increase|histogram_quantile|absent|unless|or)$/;
  const missing = [...read]
    .filter((name) => !functionsAndWords.test(name) && !recorded.has(name))
    .map((name) => name.replace(/_(bucket|sum|count)$/, ''))
    .filter((name) => !exported.has(name));
  expect(read.size).toBeGreaterThan(10);
  expect(missing).toEqual([]);
});
