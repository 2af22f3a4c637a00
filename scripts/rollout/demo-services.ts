import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, runningPid, spawnDetached, stopProcess, waitFor } from '../stack/proc';
import type { StackSettings } from '../stack/settings';

/** The demo service as a process of its own (stable or canary), for the demo and the tests. */

export interface DemoServiceOptions {
  version: 'stable' | 'canary';
  port: number;
  errorRate?: number;
  latencyMs?: number;
  jitterMs?: number;
  /** The process's name for its pid and log files; `demo-<version>` by default. */
  name?: string;
}

export interface DemoService {
  url: string;
  pid(): number | undefined;
  setKnobs(knobs: { errorRate?: number; latencyMs?: number; jitterMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export async function startDemoService(s: StackSettings, o: DemoServiceOptions): Promise<DemoService> {
  const name = o.name ?? `demo-${o.version}`;
  await stopProcess(s, name, { graceMs: 5000 });
  spawnDetached(s, {
    name,
    command: process.execPath,
    args: [
      join(s.root, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      join(s.root, 'scripts', 'rollout', 'demo-service.ts'),
      '--version',
      o.version,
      '--port',
      String(o.port),
      '--error-rate',
      String(o.errorRate ?? 0),
      '--latency-ms',
      String(o.latencyMs ?? 20),
      '--jitter-ms',
      String(o.jitterMs ?? 10),
    ],
  });
  const url = `http://127.0.0.1:${o.port}`;
  await waitFor(name, async () => (await fetch(`${url}/_knobs`, { signal: AbortSignal.timeout(1000) })).ok, {
    timeoutMs: 60_000,
    pid: () => runningPid(s, name),
    log: logFile(s, name),
  });
  return {
    url,
    pid: () => runningPid(s, name),
    async setKnobs(knobs) {
      const res = await fetch(`${url}/_knobs`, { method: 'POST', body: JSON.stringify(knobs) });
      if (!res.ok) throw new Error(`${name} refused the knobs: ${await res.text()}`);
    },
    stop: async () => void (await stopProcess(s, name, { graceMs: 5000 })),
  };
}

/** Lists services for a Prometheus file_sd job (the stack's `rollout` job reads this folder). */
export function writeScrapeTargets(
  dir: string,
  name: string,
  targets: { address: string; labels?: Record<string, string> }[],
) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.json`),
    JSON.stringify(targets.map((t) => ({ targets: [t.address], labels: t.labels ?? {} }))),
  );
}

export const removeScrapeTargets = (dir: string, name: string) => rmSync(join(dir, `${name}.json`), { force: true });

/**
 * A bounded load generator: `rate` requests per second through `url`, at most
 * `concurrency` in flight, until stopped; it counts what each version answered.
 */
export function startLoad(url: string, opts: { rate: number; concurrency?: number }) {
  const counts: Record<string, { ok: number; error: number }> = {};
  const limit = opts.concurrency ?? 8;
  let inFlight = 0;
  let stopped = false;
  const one = async () => {
    inFlight++;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await res.text();
      const version = res.headers.get('x-version') ?? 'none';
      counts[version] ??= { ok: 0, error: 0 };
      counts[version][res.ok ? 'ok' : 'error']++;
    } catch {
      counts.unreachable ??= { ok: 0, error: 0 };
      counts.unreachable.error++;
    } finally {
      inFlight--;
    }
  };
  const tick = setInterval(() => {
    if (stopped) return;
    for (let i = 0; i < opts.rate / 10 && inFlight < limit; i++) void one();
  }, 100);
  return {
    counts,
    async stop() {
      stopped = true;
      clearInterval(tick);
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
    },
  };
}
