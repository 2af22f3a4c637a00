import { existsSync } from 'node:fs';
import { errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/infra/logger';
import { isAlive, readPid, stoppingFile } from './proc';
import type { StackSettings } from './settings';
import { readSupervisorState, writeSupervisorState, type SupervisorState } from './supervisor-state';

/**
 * Restarts the stack's parts that die, as a production supervisor (systemd, Kubernetes)
 * would. A part counts as died when its pid file names a process that is gone: a stop on
 * purpose removes the pid file and marks the stop while it runs (scripts/stack/proc.ts),
 * so what `down`, `up` or a test stops is never brought back. Each restart waits a backoff
 * (1 s, doubling to 30 s while the part keeps dying; back to 1 s once it has stayed up a
 * minute), is counted in the state `npm run status` reads, and is logged.
 */
export interface SupervisorOptions {
  parts: string[];
  start(name: string): Promise<void>;
  log: Logger;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A part up this long since its last restart starts its backoff over. */
  stableMs?: number;
  now?: () => number;
}

interface Watch {
  delayMs: number;
  /** When the pending restart is due; undefined while the part runs. */
  dueAt?: number;
  deadPid?: number;
  restartedAt?: number;
}

export function createSupervisor(s: StackSettings, o: SupervisorOptions) {
  const initial = o.initialDelayMs ?? 1_000;
  const max = o.maxDelayMs ?? 30_000;
  const stable = o.stableMs ?? 60_000;
  const now = o.now ?? Date.now;
  const watches = new Map(o.parts.map((name) => [name, { delayMs: initial } as Watch]));
  const state: SupervisorState = readSupervisorState(s);
  const stoppedOnPurpose = (name: string, pid: number | undefined) =>
    pid === undefined || existsSync(stoppingFile(s, name));

  async function restart(name: string, w: Watch): Promise<void> {
    const counted = (state[name] ??= { restarts: 0 });
    counted.restarts += 1;
    counted.lastRestartAt = new Date(now()).toISOString();
    // Counted before the start: whoever sees the new process sees its restart counted.
    writeSupervisorState(s, state);
    let failed = false;
    try {
      await o.start(name);
      delete counted.lastError;
      o.log.info({ part: name, pid: readPid(s, name), restarts: counted.restarts }, 'part restarted');
    } catch (err) {
      counted.lastError = errorMessage(err).split('\n')[0];
      failed = true;
    }
    writeSupervisorState(s, state);
    w.restartedAt = now();
    w.delayMs = Math.min(w.delayMs * 2, max);
    // A failed start is tried again after the longer wait, counted from this attempt.
    w.dueAt = failed ? now() + w.delayMs : undefined;
    w.deadPid = readPid(s, name);
    if (failed) o.log.error({ part: name, err: counted.lastError, retryInMs: w.delayMs }, 'part did not come back');
  }

  /** One look at every part; restarts (one at a time, in table order) those whose backoff is over. */
  async function tick(): Promise<void> {
    for (const [name, w] of watches) {
      const pid = readPid(s, name);
      if (stoppedOnPurpose(name, pid) || isAlive(pid!)) {
        w.dueAt = undefined;
        if (w.restartedAt !== undefined && now() - w.restartedAt >= stable) w.delayMs = initial;
        continue;
      }
      if (w.dueAt === undefined || w.deadPid !== pid) {
        if (w.restartedAt === undefined || now() - w.restartedAt >= stable) w.delayMs = initial;
        w.dueAt = now() + w.delayMs;
        w.deadPid = pid;
        o.log.warn({ part: name, pid, restartInMs: w.delayMs }, 'part died');
      }
      if (now() >= w.dueAt) await restart(name, w);
    }
  }

  return { tick };
}
