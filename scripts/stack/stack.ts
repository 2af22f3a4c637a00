import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { migrate } from '../../lib/migrate';
import { join } from 'node:path';
import { isAlive, logFile, processesUsing, runningPid, sleep, stopProcess } from './proc';
import { postgresDataDir } from './postgres';
import { isReady, serviceNames, startService, type ServiceName } from './services';
import { appEnv, type StackSettings } from './settings';

export const infrastructure: ServiceName[] = ['postgres', 'redis', 'temporal', 'cbb'];

/** Starts the given parts in order (each one idempotently) and applies the schema migrations. */
export async function up(
  s: StackSettings,
  opts: { only?: ServiceName[]; fresh?: boolean; restartApps?: boolean; onStep?: (msg: string) => void } = {},
): Promise<void> {
  const wanted = serviceNames.filter((n) => !opts.only || opts.only.includes(n));
  for (const name of wanted) {
    // A new build only takes effect in new processes; the worker drains its activities first.
    if (opts.restartApps && !infrastructure.includes(name) && (await stopProcess(s, name, { graceMs: 60_000 }))) {
      opts.onStep?.(`stopped ${name} to run the new build`);
    }
    opts.onStep?.(`starting ${name}`);
    await startService(s, name, { fresh: opts.fresh });
    if (name === 'postgres') {
      const config = loadConfig({ ...process.env, ...appEnv(s), LOG_PRETTY: 'false' });
      const ran = await migrate(config.database.url, 'up', createLogger({ log: { level: 'warn', pretty: false } }, 'migrate'));
      if (ran.length) opts.onStep?.(`applied migrations: ${ran.join(', ')}`);
    }
  }
}

export async function down(s: StackSettings, onStep?: (msg: string) => void): Promise<void> {
  for (const name of [...serviceNames].reverse()) {
    // Postgres shuts down fastest and cleanest on SIGINT; the worker gets time to finish activities.
    const signal = name === 'postgres' ? 'SIGINT' : 'SIGTERM';
    const graceMs = name === 'worker' ? 60_000 : 20_000;
    if (await stopProcess(s, name, { signal, graceMs })) onStep?.(`stopped ${name}`);
  }
  // Anything still holding the stack's data (a lost pid file, a crashed `up`) goes too.
  const leftovers = stackProcesses(s);
  for (const p of leftovers) {
    onStep?.(`stopping leftover process ${p.pid}: ${p.command.slice(0, 120)}`);
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      /* gone already */
    }
  }
  const deadline = Date.now() + 10_000;
  while (leftovers.some((p) => isAlive(p.pid)) && Date.now() < deadline) await sleep(100);
  for (const p of leftovers.filter((p) => isAlive(p.pid))) process.kill(p.pid, 'SIGKILL');
}

/** Every process of this stack's that is running, found by the data paths on its command line. */
export function stackProcesses(s: StackSettings): { pid: number; command: string }[] {
  const compiled = ['worker', 'api', 'cbb'].flatMap((n) => {
    const pid = runningPid(s, n);
    return pid === undefined ? [] : [{ pid, command: n }];
  });
  // Exact paths, not the data folder: the local stack's folder holds the test stacks' folders.
  const paths = [join(s.dataDir, 'temporal', 'temporal.db'), join(s.dataDir, 'redis'), postgresDataDir(s)];
  return [...processesUsing(paths), ...compiled];
}

export interface ServiceStatus {
  name: ServiceName;
  pid?: number;
  ready: boolean;
  log: string;
}

export async function status(s: StackSettings): Promise<ServiceStatus[]> {
  return Promise.all(
    serviceNames.map(async (name) => {
      const pid = runningPid(s, name);
      return { name, pid, ready: pid !== undefined && (await isReady(s, name)), log: logFile(s, name) };
    }),
  );
}

export function describeEndpoints(s: StackSettings): [string, string][] {
  const env = appEnv(s);
  return [
    ['API', `http://127.0.0.1:${s.ports.api}  (health: /healthz, readiness: /readyz, metrics: /metrics)`],
    ['Temporal gRPC', env.TEMPORAL_ADDRESS],
    ['Temporal Web UI', env.TEMPORAL_UI_URL],
    ['Worker metrics', `http://127.0.0.1:${s.ports.workerMetrics}/metrics`],
    ['Temporal metrics', `http://127.0.0.1:${s.ports.temporalMetrics}/metrics`],
    ['Postgres', `127.0.0.1:${s.ports.postgres} (database ${s.db.name}, user ${s.db.user})`],
    ['Redis', env.REDIS_URL],
    ['Local CBB server', env.CBB_BASE_URL],
    ['Logs', `${s.logDir}  (npm run logs)`],
  ];
}
