import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackSettings } from './settings';

/**
 * A secret of the local stack: the environment's when set (the local profile only: the
 * test stack never reads the user's settings), otherwise one generated once into the
 * stack's data folder, readable by its owner alone, and the same on every later read.
 */
function stackSecret(s: StackSettings, name: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = s.profile === 'local' ? env[name] : undefined;
  if (given) return given;
  const file = join(s.dataDir, 'secrets', name.toLowerCase());
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept) return kept;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(join(s.dataDir, 'secrets'), { recursive: true, mode: 0o700 });
  const value = randomBytes(24).toString('base64url');
  // `wx`: of two processes creating it at once, one writes and the other reads that one's value.
  try {
    writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
  chmodSync(file, 0o600); // whatever the umask
  return value;
}

/** The token the local CBB server's `/_admin` routes require; tests and benchmarks read it from the stack's env. */
export const cbbAdminToken = (s: StackSettings) => stackSecret(s, 'CBB_ADMIN_TOKEN');
