import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { searchAttributeFlags } from '../../lib/search-attributes';
import { ensureSearchAttributes } from '../../lib/infra/temporal-setup';
import { logFile, runningPid, spawnDetached, stopProcess, waitFor } from './proc';
import type { StackSettings } from './settings';
import { assertSameTemporalServer, startRealTemporal } from './temporal-server';

export const venvBin = (s: StackSettings, name: string) => join(s.root, '.venv', 'bin', name);

export async function startRedis(s: StackSettings): Promise<void> {
  const dir = join(s.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  if (runningPid(s, 'redis') === undefined) {
    spawnDetached(s, {
      name: 'redis',
      command: 'redis-server',
      args: [
        '--port',
        String(s.ports.redis),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--save',
        '',
        '--daemonize',
        'no',
      ],
    });
  }
  await waitFor('redis', () => redisReady(s), { pid: () => runningPid(s, 'redis'), log: logFile(s, 'redis') });
}

export function redisReady(s: StackSettings): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: s.ports.redis });
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      resolve(d.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      resolve(false);
      socket.destroy();
    });
  });
}

export async function startTemporal(s: StackSettings, opts: { fresh?: boolean } = {}): Promise<void> {
  if (s.temporalServer === 'postgres') return startRealTemporal(s, stackNamespaces(s), opts);
  const dir = join(s.dataDir, 'temporal');
  mkdirSync(dir, { recursive: true });
  assertSameTemporalServer(s);
  if (runningPid(s, 'temporal') === undefined) spawnTemporal(s, join(dir, 'temporal.db'));
  await waitForTemporal(s);
  // The dev server registers --search-attribute flags only when it creates its database.
  const connection = await Connection.connect({ address: `127.0.0.1:${s.ports.temporal}` });
  const added: string[] = [];
  try {
    for (const namespace of stackNamespaces(s)) added.push(...(await ensureSearchAttributes(connection, namespace)));
  } finally {
    await connection.close();
  }
  // Search attributes are cached (see below): a restart makes new ones usable at once.
  if (added.length > 0) {
    await stopProcess(s, 'temporal');
    spawnTemporal(s, join(dir, 'temporal.db'));
    await waitForTemporal(s);
  }
}

function spawnTemporal(s: StackSettings, dbFile: string): void {
  spawnDetached(s, {
    name: 'temporal',
    command: venvBin(s, 'temporal'),
    args: [
      'server',
      'start-dev',
      '--db-filename',
      dbFile,
      '--ip',
      '127.0.0.1',
      '--port',
      String(s.ports.temporal),
      '--metrics-port',
      String(s.ports.temporalMetrics),
      ...(s.profile === 'test' ? ['--headless'] : ['--ui-port', String(s.ports.temporalUi), '--ui-disable-news-fetch']),
      // WAL with synchronous=normal survives a killed process (only an OS crash can lose
      // the last commits) and spares an fsync per history event.
      '--sqlite-pragma',
      'journal_mode=wal',
      '--sqlite-pragma',
      'synchronous=normal',
      // The dev server rereads the search attributes from its database on every use, about
      // a dozen reads per workflow on its single SQLite connection; a production server
      // caches them, and so does this one with the flag off (docs/cbb-sync.md, Benchmark).
      '--dynamic-config-value',
      'system.forceSearchAttributesCacheRefreshOnRead=false',
      '--log-level',
      'warn',
      ...searchAttributeFlags().flatMap((f) => ['--search-attribute', f]),
      ...stackNamespaces(s)
        .filter((n) => n !== 'default')
        .flatMap((n) => ['--namespace', n]),
    ],
  });
}

/**
 * The namespaces the dev server serves. The test stack adds one for the docs test, whose
 * commands create rows numbered from 1 and so workflow ids (`vm-1`) that other tests use too.
 */
export const docsNamespace = 'docs';
export function stackNamespaces(s: StackSettings): string[] {
  return s.profile === 'test' ? ['default', docsNamespace] : ['default'];
}

function waitForTemporal(s: StackSettings): Promise<void> {
  return waitFor('temporal', () => temporalReady(s), {
    timeoutMs: 120_000,
    pid: () => runningPid(s, 'temporal'),
    log: logFile(s, 'temporal'),
  });
}

export async function temporalReady(s: StackSettings): Promise<boolean> {
  const connection = await Connection.connect({ address: `127.0.0.1:${s.ports.temporal}`, connectTimeout: 1000 });
  try {
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    return true;
  } finally {
    await connection.close();
  }
}

/** A compiled entry point of the project run with the stack's environment (worker, API, local CBB server). */
export interface AppSpec {
  name: string;
  entry: string;
  env: (s: StackSettings) => NodeJS.ProcessEnv;
  /** Whether the process under this pid-file name (the spec's name, or an instance's) serves. */
  ready: (s: StackSettings, name: string) => Promise<boolean>;
  /**
   * More processes of the same part doing the same work (workers on one task queue): what
   * instance `n` (2 and up) gets beside the part's environment, its own metrics port say.
   */
  instances?: { max: number; env: (s: StackSettings, instance: number) => NodeJS.ProcessEnv };
  /** Node's own options the process always runs with (the worker's heap limit). */
  nodeArgs?: string[];
}

/** The pid-file and log name of an app's instance: the part's own name for the first, `worker-2` for the second. */
export function instanceName(app: Pick<AppSpec, 'name'>, instance = 1): string {
  return instance === 1 ? app.name : `${app.name}-${instance}`;
}

export async function startApp(
  s: StackSettings,
  app: AppSpec,
  env: NodeJS.ProcessEnv = {},
  opts: { instance?: number; nodeArgs?: string[] } = {},
): Promise<number> {
  const instance = opts.instance ?? 1;
  const max = app.instances?.max ?? 1;
  if (!Number.isInteger(instance) || instance < 1 || instance > max) {
    throw new Error(
      max === 1
        ? `${app.name} runs as one process only, got instance ${instance}`
        : `instance of ${app.name} must be a whole number from 1 to ${max}, got ${instance}`,
    );
  }
  const name = instanceName(app, instance);
  const existing = runningPid(s, name);
  const pid =
    existing ??
    spawnDetached(s, {
      name,
      command: process.execPath,
      // Node's own options (a profiler's, say) go on the command line: NODE_OPTIONS refuses some.
      args: ['--enable-source-maps', ...(app.nodeArgs ?? []), ...(opts.nodeArgs ?? []), join(s.root, app.entry)],
      env: { ...process.env, ...app.env(s), ...(instance > 1 ? app.instances?.env(s, instance) : {}), ...env },
    });
  await waitFor(name, () => app.ready(s, name), {
    timeoutMs: 90_000,
    pid: () => runningPid(s, name),
    log: logFile(s, name),
  });
  return pid;
}

export async function httpReady(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return res.ok;
}

/** A worker is ready once Temporal sees its process polling its task queue. */
export async function workerPolling(
  s: StackSettings,
  name: string,
  taskQueue: string,
  namespace = 'default',
): Promise<boolean> {
  const pid = runningPid(s, name);
  if (pid === undefined) return false;
  const connection = await Connection.connect({ address: `127.0.0.1:${s.ports.temporal}`, connectTimeout: 1000 });
  try {
    const res = await connection.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    return (res.pollers ?? []).some((p) => p.identity?.startsWith(`${pid}@`));
  } finally {
    await connection.close();
  }
}
