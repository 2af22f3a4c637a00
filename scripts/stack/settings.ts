import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Where the local stack lives and listens. `local` is what `npm run up` runs;
 * `test` is the stack of `npm test`: its own folder and ports, so the tests can run
 * beside a user's stack and never touch its data.
 */
export type Profile = 'local' | 'test';

const port = z.coerce.number().int().min(1).max(65535);

/** Where one part listens: its local default (overridable by `<NAME>_PORT`) and the test stack's. */
export interface PortDeclaration {
  local: number;
  test: number;
}

/**
 * Which Temporal server the stack runs: `dev` is `temporal server start-dev` (SQLite, the
 * default); `postgres` is the real server, built from its Go module, on the stack's
 * Postgres with Postgres visibility, as a production cluster runs it.
 */
export type TemporalServerKind = 'dev' | 'postgres';
export const temporalServerKinds: readonly TemporalServerKind[] = ['dev', 'postgres'];

export function temporalServerKind(env: NodeJS.ProcessEnv = process.env): TemporalServerKind {
  const raw = env.TEMPORAL_SERVER || 'dev';
  if (!(temporalServerKinds as readonly string[]).includes(raw))
    throw new Error(`TEMPORAL_SERVER must be one of ${temporalServerKinds.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as TemporalServerKind;
}

export interface StackSettings {
  profile: Profile;
  /** TEMPORAL_SERVER, read for both profiles: the tests can run on the real server too. */
  temporalServer: TemporalServerKind;
  root: string;
  dataDir: string;
  logDir: string;
  runDir: string;
  /** Every declared port, by name (scripts/stack/parts.ts declares them with their parts). */
  ports: Record<string, number>;
  /** Postgres role, password and database of the local cluster (local only, never exposed). */
  db: { user: string; password: string; name: string };
}

export const projectRoot = resolve(__dirname, '..', '..');

/**
 * TEST_STACK_SLOT (0-9) shifts the test stack's ports by 10 × slot and gives it its
 * own folder, so that several test runs (or a benchmark) can share one machine.
 */
export function testSlot(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TEST_STACK_SLOT ?? '0';
  const slot = Number(raw);
  if (!Number.isInteger(slot) || slot < 0 || slot > 9)
    throw new Error(`TEST_STACK_SLOT must be a whole number from 0 to 9, got ${JSON.stringify(raw)}`);
  return slot;
}

/** A port's environment override: `temporalUi` → `TEMPORAL_UI_PORT`. */
export const portEnvName = (name: string) => `${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_PORT`;

/**
 * The stack's folders and ports for a profile. Use `stackSettings` from ./parts, which
 * passes the ports its parts declare.
 */
export function baseSettings(
  profile: Profile,
  declared: Record<string, PortDeclaration>,
  env: NodeJS.ProcessEnv = process.env,
): StackSettings {
  // The test stack never reads the user's overrides: it must not collide with their stack.
  const slot = profile === 'test' ? testSlot(env) : 0;
  const ports: Record<string, number> = {};
  for (const [name, decl] of Object.entries(declared)) {
    const raw = profile === 'local' ? (env[portEnvName(name)] ?? decl.local) : decl.test + slot * 10;
    const parsed = port.safeParse(raw);
    if (!parsed.success)
      throw new Error(`${portEnvName(name)} must be a port number (1-65535), got ${JSON.stringify(raw)}`);
    ports[name] = parsed.data;
  }
  const dataDir = resolve(
    projectRoot,
    profile === 'local' ? (env.DATA_DIR ?? '.data') : slot ? `.data/test-${slot}` : '.data/test',
  );
  return {
    profile,
    temporalServer: temporalServerKind(env),
    root: projectRoot,
    dataDir,
    logDir: resolve(dataDir, 'logs'),
    runDir: resolve(dataDir, 'run'),
    ports,
    db: { user: 'orchestrator', password: 'orchestrator', name: 'orchestrator' },
  };
}
