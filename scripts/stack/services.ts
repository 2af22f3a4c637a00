import { mkdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { searchAttributeFlags } from '../../lib/search-attributes';
import { ensureSearchAttributes } from '../../lib/temporal-setup';
import { logFile, runningPid, spawnDetached, stopProcess, waitFor } from './proc';
import { postgresReady, startPostgres } from './postgres';
import { appEnv, type StackSettings } from './settings';

/** The parts of the local stack, in start order; `down` stops them in reverse. */
export const serviceNames = ['postgres', 'redis', 'temporal', 'cbb', 'worker', 'api'] as const;
export type ServiceName = (typeof serviceNames)[number];

export const venvBin = (s: StackSettings, name: string) => join(s.root, '.venv', 'bin', name);

export async function startRedis(s: StackSettings): Promise<void> {
  const dir = join(s.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  if (runningPid(s, 'redis') === undefined) {
    spawnDetached(s, {
      name: 'redis',
      command: 'redis-server',
      args: ['--port', String(s.ports.redis), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'],
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

export async function startTemporal(s: StackSettings): Promise<void> {
  const dir = join(s.dataDir, 'temporal');
  mkdirSync(dir, { recursive: true });
  if (runningPid(s, 'temporal') === undefined) spawnTemporal(s, join(dir, 'temporal.db'));
  await waitForTemporal(s);
  // The dev server registers --search-attribute flags only when it creates its database.
  const connection = await Connection.connect({ address: `127.0.0.1:${s.ports.temporal}` });
  let added: string[];
  try {
    added = await ensureSearchAttributes(connection, 'default');
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
    ],
  });
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

/** Worker, API and local CBB server: compiled entry points run with the stack's environment. */
const appEntries: Record<'worker' | 'api' | 'cbb', string> = {
  worker: 'dist/workers/orchestrator.js',
  api: 'dist/api/main.js',
  cbb: 'dist/scripts/cbb-server/index.js',
};

export function appProcessEnv(s: StackSettings): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...appEnv(s),
    NODE_ENV: s.profile === 'test' ? 'test' : (process.env.NODE_ENV ?? 'production'),
    LOG_PRETTY: 'false',
    CBB_PORT: String(s.ports.cbb),
  };
}

export async function startApp(s: StackSettings, name: 'worker' | 'api' | 'cbb', env: NodeJS.ProcessEnv = {}): Promise<number> {
  const existing = runningPid(s, name);
  const pid =
    existing ??
    spawnDetached(s, {
      name,
      command: process.execPath,
      args: ['--enable-source-maps', join(s.root, appEntries[name])],
      env: { ...appProcessEnv(s), ...env },
    });
  await waitFor(name, () => appReady(s, name), {
    timeoutMs: 90_000,
    pid: () => runningPid(s, name),
    log: logFile(s, name),
  });
  return pid;
}

export async function appReady(s: StackSettings, name: 'worker' | 'api' | 'cbb'): Promise<boolean> {
  if (name === 'worker') return workerPolling(s);
  const url = name === 'api' ? `http://127.0.0.1:${s.ports.api}/healthz` : `http://127.0.0.1:${s.ports.cbb}/_admin/health`;
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return res.ok;
}

/** A worker is ready once Temporal sees its process polling the task queue. */
async function workerPolling(s: StackSettings): Promise<boolean> {
  const pid = runningPid(s, 'worker');
  if (pid === undefined) return false;
  const connection = await Connection.connect({ address: `127.0.0.1:${s.ports.temporal}`, connectTimeout: 1000 });
  try {
    const res = await connection.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: process.env.TEMPORAL_TASK_QUEUE ?? 'orchestrator' },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    return (res.pollers ?? []).some((p) => p.identity?.startsWith(`${pid}@`));
  } finally {
    await connection.close();
  }
}

export async function isReady(s: StackSettings, name: ServiceName): Promise<boolean> {
  switch (name) {
    case 'postgres':
      return postgresReady(s);
    case 'redis':
      return redisReady(s);
    case 'temporal':
      return temporalReady(s).catch(() => false);
    default:
      return appReady(s, name).catch(() => false);
  }
}

export async function startService(s: StackSettings, name: ServiceName, opts: { fresh?: boolean } = {}): Promise<void> {
  switch (name) {
    case 'postgres':
      return startPostgres(s, opts);
    case 'redis':
      if (opts.fresh) rmSync(join(s.dataDir, 'redis'), { recursive: true, force: true });
      return startRedis(s);
    case 'temporal':
      if (opts.fresh) rmSync(join(s.dataDir, 'temporal'), { recursive: true, force: true });
      return startTemporal(s);
    default:
      await startApp(s, name);
  }
}
