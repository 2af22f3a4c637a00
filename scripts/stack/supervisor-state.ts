import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackSettings } from './settings';

/** What the supervisor has done, per part: kept in a file so that `npm run status` can show it. */
export interface SupervisedPart {
  restarts: number;
  lastRestartAt?: string;
  /** Why the last restart attempt failed, if it did. */
  lastError?: string;
}

export type SupervisorState = Record<string, SupervisedPart>;

export const supervisorName = 'supervisor';
/**
 * The entry point `up` starts, run from source like the stack's command line: the stack's
 * settings place its folders from the source tree, which a compiled copy under dist/ is not in.
 */
export const supervisorEntry = 'scripts/stack/supervise.ts';

const stateFile = (s: StackSettings) => join(s.runDir, 'supervisor.json');

export function readSupervisorState(s: StackSettings): SupervisorState {
  try {
    return JSON.parse(readFileSync(stateFile(s), 'utf8')) as SupervisorState;
  } catch {
    return {};
  }
}

/** Written whole and renamed into place, so a reader never sees half a file. */
export function writeSupervisorState(s: StackSettings, state: SupervisorState): void {
  const tmp = `${stateFile(s)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, stateFile(s));
}
