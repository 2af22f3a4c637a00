import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackSettings } from './settings';

/** Background processes of the stack: one pid file and one log file each, under the data folder. */

export interface SpawnSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

const pidFile = (s: StackSettings, name: string) => join(s.runDir, `${name}.pid`);
/**
 * Present while a stop on purpose is under way (and left behind if that stop was cut short):
 * the stack's supervisor restarts a part that died, never one being stopped.
 */
export const stoppingFile = (s: StackSettings, name: string) => join(s.runDir, `${name}.stopping`);
export const logFile = (s: StackSettings, name: string) => join(s.logDir, `${name}.log`);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed child that its parent has not reaped yet still answers signals: it is dead all the same.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Waits (up to `timeoutMs`) until a dead process's pid is gone too: until its parent reaps
 * it, the pid still answers signals, and a program that checks its lock file that way
 * (Postgres's postmaster.pid) takes the dead owner for a live one and refuses to start.
 */
export async function untilReaped(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return;
    }
    await sleep(50);
  }
}

export function readPid(s: StackSettings, name: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(s, name), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function runningPid(s: StackSettings, name: string): number | undefined {
  const pid = readPid(s, name);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

/** Starts a detached process in its own process group, its output appended to its log. */
export function spawnDetached(s: StackSettings, spec: SpawnSpec): number {
  mkdirSync(s.runDir, { recursive: true });
  mkdirSync(s.logDir, { recursive: true });
  const out = openSync(logFile(s, spec.name), 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd ?? s.root,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
      uid: spec.uid,
      gid: spec.gid,
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
    child.unref();
    writeFileSync(pidFile(s, spec.name), `${child.pid}\n`);
    rmSync(stoppingFile(s, spec.name), { force: true });
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops a process group: the given signal first, SIGKILL if it outlives the grace period. */
export async function stopProcess(
  s: StackSettings,
  name: string,
  opts: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<boolean> {
  const pid = readPid(s, name);
  if (pid === undefined || !isAlive(pid)) {
    rmSync(pidFile(s, name), { force: true });
    return false;
  }
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  writeFileSync(stoppingFile(s, name), `${pid}\n`);
  signalGroup(opts.signal ?? 'SIGTERM');
  const deadline = Date.now() + (opts.graceMs ?? 15_000);
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    signalGroup('SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }
  rmSync(pidFile(s, name), { force: true });
  rmSync(stoppingFile(s, name), { force: true });
  return true;
}

/** Kills a process group at once, as a crash would. */
export function killProcess(s: StackSettings, name: string): number | undefined {
  const pid = runningPid(s, name);
  if (pid === undefined) return undefined;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
  return pid;
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs?: number; pid?: () => number | undefined; log?: string } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (opts.pid && opts.pid() === undefined) {
      throw new Error(`${what} exited during start-up${opts.log ? `; its log: ${opts.log}\n${tail(opts.log)}` : ''}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not become ready in ${(opts.timeoutMs ?? 60_000) / 1000}s${opts.log ? `; its log: ${opts.log}\n${tail(opts.log)}` : ''}`,
      );
    }
    await sleep(200);
  }
}

export function tail(path: string, lines = 15): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** A process's command line, its arguments joined by spaces; undefined once it has exited. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** Processes whose command line names one of these paths: what is left of a stack whose pid files were lost. */
export function processesUsing(paths: string[]): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const command = commandLine(pid);
    if (command && paths.some((p) => command.includes(p))) found.push({ pid, command });
  }
  return found;
}
