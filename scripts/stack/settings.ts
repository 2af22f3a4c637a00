import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Where the local stack lives and listens. `local` is what `npm run up` runs;
 * `test` is the stack of `npm test`: its own folder and ports, so the tests can run
 * beside a user's stack and never touch its data.
 */
export type Profile = 'local' | 'test';

const port = z.coerce.number().int().min(1).max(65535);

const defaults: Record<Profile, Record<string, number | string>> = {
  local: {
    DATA_DIR: '.data',
    POSTGRES_PORT: 55432,
    REDIS_PORT: 56379,
    TEMPORAL_PORT: 7233,
    TEMPORAL_UI_PORT: 8233,
    TEMPORAL_METRICS_PORT: 8234,
    API_PORT: 3000,
    WORKER_METRICS_PORT: 9464,
    CBB_PORT: 3100,
  },
  test: {
    DATA_DIR: '.data/test',
    POSTGRES_PORT: 55433,
    REDIS_PORT: 56380,
    TEMPORAL_PORT: 17233,
    TEMPORAL_UI_PORT: 18233,
    TEMPORAL_METRICS_PORT: 18234,
    API_PORT: 13000,
    WORKER_METRICS_PORT: 19464,
    CBB_PORT: 13100,
  },
};

export interface StackSettings {
  profile: Profile;
  root: string;
  dataDir: string;
  logDir: string;
  runDir: string;
  ports: {
    postgres: number;
    redis: number;
    temporal: number;
    temporalUi: number;
    temporalMetrics: number;
    api: number;
    workerMetrics: number;
    cbb: number;
  };
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
  if (!Number.isInteger(slot) || slot < 0 || slot > 9) throw new Error(`TEST_STACK_SLOT must be a whole number from 0 to 9, got ${JSON.stringify(raw)}`);
  return slot;
}

export function stackSettings(profile: Profile, env: NodeJS.ProcessEnv = process.env): StackSettings {
  // The test stack never reads the user's overrides: it must not collide with their stack.
  const slot = profile === 'test' ? testSlot(env) : 0;
  const pick = (name: string) => {
    if (profile === 'local') return env[name] ?? defaults.local[name];
    const value = defaults.test[name];
    if (name === 'DATA_DIR') return slot ? `${value}-${slot}` : value;
    return Number(value) + slot * 10;
  };
  const num = (name: string) => {
    const parsed = port.safeParse(pick(name));
    if (!parsed.success) throw new Error(`${name} must be a port number (1-65535), got ${JSON.stringify(pick(name))}`);
    return parsed.data;
  };
  const dataDir = resolve(projectRoot, String(pick('DATA_DIR')));
  return {
    profile,
    root: projectRoot,
    dataDir,
    logDir: resolve(dataDir, 'logs'),
    runDir: resolve(dataDir, 'run'),
    ports: {
      postgres: num('POSTGRES_PORT'),
      redis: num('REDIS_PORT'),
      temporal: num('TEMPORAL_PORT'),
      temporalUi: num('TEMPORAL_UI_PORT'),
      temporalMetrics: num('TEMPORAL_METRICS_PORT'),
      api: num('API_PORT'),
      workerMetrics: num('WORKER_METRICS_PORT'),
      cbb: num('CBB_PORT'),
    },
    db: { user: 'orchestrator', password: 'orchestrator', name: 'orchestrator' },
  };
}

/** The environment the worker, the API and the tests get to reach this stack. */
export function appEnv(s: StackSettings): Record<string, string> {
  return {
    DATABASE_URL: `postgres://${s.db.user}:${s.db.password}@127.0.0.1:${s.ports.postgres}/${s.db.name}`,
    REDIS_URL: `redis://127.0.0.1:${s.ports.redis}`,
    TEMPORAL_ADDRESS: `127.0.0.1:${s.ports.temporal}`,
    TEMPORAL_UI_URL: `http://localhost:${s.ports.temporalUi}`,
    API_PORT: String(s.ports.api),
    WORKER_METRICS_PORT: String(s.ports.workerMetrics),
    CBB_BASE_URL: `http://127.0.0.1:${s.ports.cbb}/api`,
  };
}
