import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { logFile, runningPid, spawnDetached, stopProcess, waitFor } from '../../scripts/stack/proc';
import { startHaproxy as startStackHaproxy } from '../../scripts/stack/haproxy';
import { startPrometheus as startStackPrometheus } from '../../scripts/stack/prometheus';
import { redisReady } from '../../scripts/stack/services';
import { stackSettings } from '../../scripts/stack/parts';
import { projectRoot, testSlot, type StackSettings } from '../../scripts/stack/settings';

/**
 * Real Redis, HAProxy and Prometheus for the rollout's integration tests, each started by
 * the test on ports and folders of its TEST_STACK_SLOT (ports 20000 + 100 × slot + n,
 * folders under .data/test-<slot>/rollout), so that several runs can share a machine.
 */

const slot = testSlot();
const base = 20_000 + 100 * slot;
export const rolloutPorts = {
  redis: base + 1,
  haproxy: base + 2,
  stable: base + 3,
  canary: base + 4,
  prometheus: base + 5,
  exporter: base + 6,
  webhook: base + 7,
  /** Nothing listens here: a refused connection. */
  unused: base + 99,
};

export const rolloutDataDir = join(projectRoot, '.data', `test-${slot}`, 'rollout');

/** Stack settings whose run and log folders are the rollout tests' own. */
function settings(): StackSettings {
  return {
    ...stackSettings('test'),
    dataDir: rolloutDataDir,
    runDir: join(rolloutDataDir, 'run'),
    logDir: join(rolloutDataDir, 'logs'),
  };
}

export interface ServiceHandle {
  name: string;
  pid: () => number | undefined;
  stop(): Promise<void>;
}

async function start(
  name: string,
  command: string,
  args: string[],
  ready: () => Promise<boolean>,
): Promise<ServiceHandle> {
  const s = settings();
  await stopProcess(s, name, { graceMs: 5000 }); // one left by an interrupted run of this slot
  spawnDetached(s, { name, command, args });
  await waitFor(name, ready, { timeoutMs: 60_000, pid: () => runningPid(s, name), log: logFile(s, name) });
  return {
    name,
    pid: () => runningPid(s, name),
    stop: async () => void (await stopProcess(s, name, { graceMs: 10_000 })),
  };
}

export async function startRolloutRedis(): Promise<ServiceHandle & { url: string }> {
  const dir = join(rolloutDataDir, 'redis');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const port = rolloutPorts.redis;
  const handle = await start(
    'redis',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    () => redisReady({ ports: { redis: port } } as unknown as StackSettings),
  );
  return { ...handle, url: `redis://127.0.0.1:${port}` };
}

export interface HaproxyHandle extends ServiceHandle {
  socketPath: string;
  url: string;
}

/** HAProxy in front of the stable and canary servers (backend `app`), stable at weight 100 and canary at 0. */
export async function startHaproxy(): Promise<HaproxyHandle> {
  const s = settings();
  const h = await startStackHaproxy(s, {
    dir: join(rolloutDataDir, 'haproxy'),
    frontendPort: rolloutPorts.haproxy,
    stablePort: rolloutPorts.stable,
    canaryPort: rolloutPorts.canary,
  });
  return { name: 'haproxy', pid: () => runningPid(s, 'haproxy'), ...h };
}

export interface PrometheusHandle extends ServiceHandle {
  url: string;
}

/** Prometheus scraping the test's exporter (and files in its targets folder) every second, with a fresh database. */
export async function startPrometheus(extraTargets: string[] = []): Promise<PrometheusHandle> {
  const s = settings();
  const dir = join(rolloutDataDir, 'prometheus');
  await stopProcess(s, 'prometheus', { graceMs: 5000 }); // one left by an interrupted run of this slot
  await startStackPrometheus(s, {
    name: 'prometheus',
    dir,
    port: rolloutPorts.prometheus,
    fresh: true,
    jobs: [{ name: 'exporter', targets: [`127.0.0.1:${rolloutPorts.exporter}`, ...extraTargets], interval: '1s' }],
  });
  return {
    name: 'prometheus',
    url: `http://127.0.0.1:${rolloutPorts.prometheus}`,
    pid: () => runningPid(s, 'prometheus'),
    stop: async () => void (await stopProcess(s, 'prometheus', { graceMs: 10_000 })),
  };
}

/** A plain HTTP server on a port of this slot; `handler` answers each request. */
export async function startHttpServer(port: number, handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

export const closeServer = (server: Server | undefined) =>
  new Promise<void>((resolve) => {
    if (!server) return resolve();
    server.closeAllConnections();
    server.close(() => resolve());
  });
