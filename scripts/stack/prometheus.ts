import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, runningPid, spawnDetached, waitFor } from './proc';
import type { StackSettings } from './settings';

/**
 * Prometheus (the Debian package) with its configuration written under the data folder.
 * The stack's instance scrapes the API, the worker and the Temporal server, and every
 * file in `prometheus/targets/` (file_sd, reread on change): the canary demo and tests add
 * their services there without a restart.
 */

export interface ScrapeJob {
  name: string;
  targets?: string[];
  /** A folder of file_sd JSON files (`[{ "targets": ["host:port"], "labels": {...} }]`). */
  filesDir?: string;
  interval?: string;
}

export interface PrometheusOptions {
  /** The process's name for its pid and log files. */
  name: string;
  dir: string;
  port: number;
  jobs: ScrapeJob[];
  /** Rule files (globs) to load: the project's alerting and recording rules. */
  ruleFiles?: string[];
  /** Start with an empty database. */
  fresh?: boolean;
}

export const prometheusDir = (s: StackSettings) => join(s.dataDir, 'prometheus');
export const prometheusTargetsDir = (s: StackSettings) => join(prometheusDir(s), 'targets');
/** The alerting and recording rules shipped in the repository (checked by `npm run rules:check`). */
export const prometheusRuleFiles = (s: StackSettings) => [join(s.root, 'prometheus', 'rules', '*.yml')];

export function prometheusConfig(jobs: ScrapeJob[], scrapeInterval = '5s', ruleFiles: string[] = []): string {
  const lines = ['global:', `  scrape_interval: ${scrapeInterval}`, `  evaluation_interval: ${scrapeInterval}`];
  if (ruleFiles.length > 0) lines.push('rule_files:', ...ruleFiles.map((f) => `  - '${f}'`));
  lines.push('scrape_configs:');
  for (const job of jobs) {
    lines.push(`  - job_name: ${job.name}`);
    if (job.interval) lines.push(`    scrape_interval: ${job.interval}`);
    if (job.targets)
      lines.push('    static_configs:', `      - targets: [${job.targets.map((t) => `'${t}'`).join(', ')}]`);
    if (job.filesDir) {
      lines.push(
        '    file_sd_configs:',
        `      - files: ['${join(job.filesDir, '*.json')}']`,
        '        refresh_interval: 5s',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function startPrometheus(s: StackSettings, opts: PrometheusOptions): Promise<void> {
  if (opts.fresh) rmSync(join(opts.dir, 'data'), { recursive: true, force: true });
  mkdirSync(opts.dir, { recursive: true });
  for (const job of opts.jobs) if (job.filesDir) mkdirSync(job.filesDir, { recursive: true });
  const config = join(opts.dir, 'prometheus.yml');
  writeFileSync(config, prometheusConfig(opts.jobs, '5s', opts.ruleFiles));
  if (runningPid(s, opts.name) === undefined) {
    spawnDetached(s, {
      name: opts.name,
      command: 'prometheus',
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(opts.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${opts.port}`,
        '--storage.tsdb.retention.time=7d',
        '--log.level=warn',
      ],
    });
  }
  const url = `http://127.0.0.1:${opts.port}`;
  await waitFor(opts.name, async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok, {
    timeoutMs: 60_000,
    pid: () => runningPid(s, opts.name),
    log: logFile(s, opts.name),
  });
}

/** What the stack's Prometheus scrapes: the API, both workers and the Temporal server, and the canary services. */
export function stackScrapeJobs(s: StackSettings): ScrapeJob[] {
  const local = (port: number) => `127.0.0.1:${port}`;
  return [
    { name: 'api', targets: [local(s.ports.api)] },
    { name: 'worker', targets: [local(s.ports.workerMetrics)] },
    { name: 'hmm-worker', targets: [local(s.ports.hmmWorkerMetrics)] },
    { name: 'temporal', targets: [local(s.ports.temporalMetrics)] },
    // Canary services (the demo's, a test's): short stages need fresh figures.
    { name: 'rollout', filesDir: prometheusTargetsDir(s), interval: '1s' },
  ];
}

/** The stack's own Prometheus: the project's processes and the Temporal server, in one place, with the project's rules. */
export function startStackPrometheus(s: StackSettings, opts: { fresh?: boolean }): Promise<void> {
  return startPrometheus(s, {
    name: 'prometheus',
    dir: prometheusDir(s),
    port: s.ports.prometheus,
    fresh: opts.fresh,
    ruleFiles: prometheusRuleFiles(s),
    jobs: stackScrapeJobs(s),
  });
}
