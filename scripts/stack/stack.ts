import { loadConfig } from '../../lib/infra/config';
import { createLogger } from '../../lib/infra/logger';
import { migrate } from '../../lib/infra/schema-migrations';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, logFile, processesUsing, runningPid, sleep, spawnDetached, stopProcess, waitFor } from './proc';
import { appEnv, extraInstanceNames, part, parts, type PartName, type StackPart } from './parts';
import { portHolder } from './port-holders';
import { portEnvName, type StackSettings } from './settings';
import { assertSameTemporalServer } from './temporal-server';
import { readSupervisorState, supervisorEntry, supervisorName } from './supervisor-state';

/** Starts the given parts in table order (each one idempotently) and applies the schema migrations. */
export async function up(
  s: StackSettings,
  opts: {
    only?: PartName[];
    fresh?: boolean;
    restartApps?: boolean;
    /** Start the supervisor once the parts are up (`npm run up`; the test stack runs without one). */
    supervise?: boolean;
    onStep?: (msg: string) => void;
  } = {},
): Promise<void> {
  // Before anything stops: a stack asked to switch servers under it refuses as it stands.
  if (!opts.only || opts.only.includes('temporal')) assertSameTemporalServer(s);
  // Parts are stopped and started below on purpose: no supervisor may race them.
  if (await stopSupervisor(s)) opts.onStep?.('stopped the supervisor');
  for (const p of parts.filter((p) => !opts.only || opts.only.includes(p.name))) {
    // A new build only takes effect in new processes; the worker drains its activities first.
    if (opts.restartApps && p.role === 'app' && (await stopProcess(s, p.name, p.stop))) {
      opts.onStep?.(`stopped ${p.name} to run the new build`);
    }
    opts.onStep?.(`starting ${p.name}`);
    await claimPorts(s, p);
    await p.start(s, { fresh: opts.fresh });
    if (p.name === 'postgres') {
      const config = loadConfig({ ...process.env, ...appEnv(s), LOG_PRETTY: 'false' });
      const ran = await migrate(
        config.database.url,
        'up',
        createLogger({ log: { level: 'warn', pretty: false } }, 'migrate'),
      );
      if (ran.length) opts.onStep?.(`applied migrations: ${ran.join(', ')}`);
    }
  }
  if (opts.supervise) {
    await startSupervisor(s);
    opts.onStep?.('supervisor watching the parts (restarts those that die)');
  }
}

/** Starts the stack's supervisor (scripts/stack/supervise.ts) over the given parts, all by default. */
export async function startSupervisor(s: StackSettings, only: PartName[] = []): Promise<number> {
  const running = runningPid(s, supervisorName);
  if (running !== undefined) return running;
  const log = logFile(s, supervisorName);
  const from = existsSync(log) ? statSync(log).size : 0;
  const pid = spawnDetached(s, {
    name: supervisorName,
    command: process.execPath,
    args: [join(s.root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(s.root, supervisorEntry), s.profile, ...only],
  });
  // Its first line says it is watching: only then is a death sure to be seen.
  const watching = async () => readFileSync(log).subarray(from).toString('utf8').includes('"supervising"');
  await waitFor(supervisorName, watching, { timeoutMs: 30_000, pid: () => runningPid(s, supervisorName), log });
  return pid;
}

export const stopSupervisor = (s: StackSettings) => stopProcess(s, supervisorName, { graceMs: 10_000 });

/** Starts one part (after a test stopped or killed it). */
export async function startPart(s: StackSettings, name: PartName, opts: { fresh?: boolean } = {}): Promise<void> {
  const p = part(name);
  await claimPorts(s, p);
  return p.start(s, opts);
}

/**
 * A part that is not running must find its ports free. Otherwise its own process
 * would fail to bind while its readiness probe reached the other one, and the stack
 * would run against a server that is not its own.
 */
async function claimPorts(s: StackSettings, p: StackPart): Promise<void> {
  if (runningPid(s, p.name) !== undefined) return;
  // This stack's processes, read once and only if a port is held: the scan reads all of /proc.
  let own: Set<number> | undefined;
  const ours = (pid: number | undefined) =>
    pid !== undefined && (own ??= new Set(stackProcesses(s).map((x) => x.pid))).has(pid);
  // A companion that outlived its part (the Web UI of a killed Temporal) keeps its port: the part's start reuses it.
  const companions = new Set(
    (p.companions ?? []).map((c) => runningPid(s, c)).filter((pid): pid is number => pid !== undefined),
  );
  for (const name of Object.keys(p.ports)) {
    const port = s.ports[name];
    let holder = portHolder(port);
    if (holder?.pid !== undefined && companions.has(holder.pid)) continue;
    // A process of this stack's stopped or killed a moment ago may still be closing its socket. A killed
    // multi-threaded server (Temporal's) is a zombie while its other threads still hold the socket, which
    // then belongs to no visible process: that too is waited out. A live foreign holder is refused at once.
    const deadline = Date.now() + 10_000;
    while (holder && (holder.pid === undefined || ours(holder.pid)) && Date.now() < deadline) {
      await sleep(200);
      holder = portHolder(port);
    }
    if (!holder) continue;
    const who =
      holder.pid === undefined
        ? "a process that is not visible (another user's, or one that did not finish exiting in 10 s)"
        : `pid ${holder.pid} (${(holder.command ?? '').slice(0, 160)})`;
    const remedy = ours(holder.pid)
      ? 'it is a leftover of this stack: `npm run down` stops it'
      : s.profile === 'local'
        ? `it is not this stack's: stop it, or give this stack another port with ${portEnvName(name)}`
        : "it is not this stack's: stop it, or run the tests on another TEST_STACK_SLOT (1-9)";
    throw new Error(`cannot start ${p.name}: port ${port} is already held by ${who}; ${remedy}`);
  }
}

export async function down(s: StackSettings, onStep?: (msg: string) => void): Promise<void> {
  // First, or it would bring back the parts as they stop.
  if (await stopSupervisor(s)) onStep?.(`stopped ${supervisorName}`);
  for (const p of [...parts].reverse()) {
    for (const c of ('companions' in p ? p.companions : undefined) ?? []) {
      if (await stopProcess(s, c, { graceMs: 5_000 })) onStep?.(`stopped ${c}`);
    }
    // A benchmark's or test's extra workers stop as the part does, all at once: each drains its own activities.
    const stopped = await Promise.all(
      extraInstanceNames(p).map((n) => stopProcess(s, n, p.stop).then((ok) => ok && n)),
    );
    for (const n of stopped) if (n) onStep?.(`stopped ${n}`);
    if (await stopProcess(s, p.name, p.stop)) onStep?.(`stopped ${p.name}`);
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

/** Every process of this stack's that is running: by pid file, or by the data paths on its command line. */
export function stackProcesses(s: StackSettings): { pid: number; command: string }[] {
  const names = [
    supervisorName,
    ...parts.flatMap((p) => [
      ...(('companions' in p ? p.companions : undefined) ?? []),
      ...extraInstanceNames(p),
      p.name,
    ]),
  ];
  const byPid = names.flatMap((name) => {
    const pid = runningPid(s, name);
    return pid === undefined ? [] : [{ pid, command: name }];
  });
  // Exact paths, not the data folder: the local stack's folder holds the test stacks' folders.
  const paths = parts.flatMap((p) => ('leftovers' in p && p.leftovers ? p.leftovers(s) : []));
  const known = new Set(byPid.map((p) => p.pid));
  return [...byPid, ...processesUsing(paths).filter((p) => !known.has(p.pid))];
}

export interface PartStatus {
  name: PartName;
  pid?: number;
  ready: boolean;
  /** Times the supervisor restarted it since the stack's data was made. */
  restarts: number;
  log: string;
}

export async function status(s: StackSettings): Promise<PartStatus[]> {
  const supervised = readSupervisorState(s);
  return Promise.all(
    parts.map(async (p) => {
      const pid = runningPid(s, p.name);
      return {
        name: p.name,
        pid,
        ready: pid !== undefined && (await p.ready(s).catch(() => false)),
        restarts: supervised[p.name]?.restarts ?? 0,
        log: logFile(s, p.name),
      };
    }),
  );
}

export function describeEndpoints(s: StackSettings): [string, string][] {
  return [...parts.flatMap((p) => p.endpoints?.(s) ?? []), ['Logs', `${s.logDir}  (npm run logs [-- <part>])`]];
}
