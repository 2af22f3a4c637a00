import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { libvirtdKeeper, libvirtdPaths, libvirtdReady, libvirtUri, startLibvirtd } from './libvirtd';
import { haproxySocketPath } from './haproxy';
import { databaseUrl, postgresDataDir, postgresReady, startPostgres } from './postgres';
import { prometheusDir, startStackPrometheus } from './prometheus';
import { realServerLeftovers, temporalUiProcess } from './temporal-server';
import { cbbAdminToken } from './secrets';
import {
  httpReady,
  redisReady,
  instanceName,
  startApp,
  startRedis,
  startTemporal,
  temporalReady,
  workerPolling,
  type AppSpec,
} from './services';
import { hmmTaskQueue } from '../../lib/hmm/contract';
import { storedSecret } from '../../lib/infra/secret-file';
import { baseSettings, type PortDeclaration, type Profile, type StackSettings } from './settings';

/**
 * The local stack, one entry per part, in start order (`down` stops them in reverse).
 * `up`, `down`, `status`, `logs`, the test setup and the benchmarks all read this table:
 * adding a part (libvirtd, Prometheus, the hmm worker) is one entry here.
 */
export interface StackPart {
  name: string;
  /** Infrastructure runs for the whole test run; apps are started by the tests that need them. */
  role: 'infrastructure' | 'app';
  ports: Record<string, PortDeclaration>;
  start(s: StackSettings, opts: { fresh?: boolean }): Promise<void>;
  ready(s: StackSettings): Promise<boolean>;
  /** How it stops: Postgres shuts down fastest and cleanest on SIGINT; a worker gets time to finish activities. */
  stop: { signal: NodeJS.Signals; graceMs: number };
  /** Processes the part starts beside its own (by pid-file name): `down` stops them first. */
  companions?: readonly string[];
  /** Paths on the command line of this part's processes: how `down` finds one whose pid file was lost. */
  leftovers?(s: StackSettings): string[];
  /** What the project's processes are given to reach this part. */
  env?(s: StackSettings): Record<string, string>;
  /** Shown by `npm run up`. */
  endpoints?(s: StackSettings): [string, string][];
}

const infrastructureStop = { signal: 'SIGTERM' as const, graceMs: 20_000 };

/**
 * Worker processes a benchmark or test may run at once. Instance n (2 and up) listens for
 * metrics on workerMetrics + n: the test slots' ports are ten apart and workerMetrics + 1
 * is the hmm worker's, so instances 2 to 9 stay within the slot's own ports.
 */
const workerInstances = 9;

/** The worker's V8 heap limit, per isolate: its main thread's and its workflow thread's. */
export const workerHeapLimit = '--max-old-space-size=256';

function app(
  spec: Omit<AppSpec, 'env'> & Pick<StackPart, 'ports' | 'endpoints'> & { graceMs?: number },
): StackPart & { app: AppSpec } {
  const appSpec: AppSpec = { ...spec, env: appProcessEnv };
  return {
    name: spec.name,
    role: 'app',
    ports: spec.ports,
    app: appSpec,
    start: async (s) => void (await startApp(s, appSpec)),
    ready: (s) => spec.ready(s, spec.name),
    stop: { signal: 'SIGTERM', graceMs: spec.graceMs ?? 20_000 },
    endpoints: spec.endpoints,
  };
}

export const parts = [
  {
    name: 'postgres',
    role: 'infrastructure',
    ports: { postgres: { local: 55432, test: 55433 } },
    start: (s, opts) => startPostgres(s, opts),
    ready: postgresReady,
    stop: { signal: 'SIGINT', graceMs: 20_000 },
    leftovers: (s) => [postgresDataDir(s)],
    env: (s) => ({ DATABASE_URL: databaseUrl(s) }),
    endpoints: (s) => [['Postgres', `127.0.0.1:${s.ports.postgres} (database ${s.db.name}, user ${s.db.user})`]],
  },
  {
    name: 'redis',
    role: 'infrastructure',
    ports: { redis: { local: 56379, test: 56380 } },
    start: async (s, opts) => {
      if (opts.fresh) rmSync(join(s.dataDir, 'redis'), { recursive: true, force: true });
      await startRedis(s);
    },
    ready: redisReady,
    stop: infrastructureStop,
    leftovers: (s) => [join(s.dataDir, 'redis')],
    env: (s) => ({ REDIS_URL: `redis://127.0.0.1:${s.ports.redis}` }),
    endpoints: (s) => [['Redis', `redis://127.0.0.1:${s.ports.redis}`]],
  },
  {
    name: 'temporal',
    role: 'infrastructure',
    ports: {
      temporal: { local: 7233, test: 17233 },
      temporalUi: { local: 8233, test: 18233 },
      temporalMetrics: { local: 8234, test: 18234 },
      // TEMPORAL_SERVER=postgres only: the real server's other seven ports and its frontend's HTTP port, from here up.
      temporalServices: { local: 7300, test: 27300 },
    },
    start: async (s, opts) => {
      if (opts.fresh) rmSync(join(s.dataDir, 'temporal'), { recursive: true, force: true });
      await startTemporal(s, opts);
    },
    ready: (s) => temporalReady(s).catch(() => false),
    stop: infrastructureStop,
    companions: [temporalUiProcess],
    leftovers: (s) => [join(s.dataDir, 'temporal', 'temporal.db'), ...realServerLeftovers(s)],
    env: (s) => ({
      TEMPORAL_ADDRESS: `127.0.0.1:${s.ports.temporal}`,
      TEMPORAL_UI_URL: `http://localhost:${s.ports.temporalUi}`,
    }),
    endpoints: (s) => [
      [
        'Temporal gRPC',
        `127.0.0.1:${s.ports.temporal}  (${s.temporalServer === 'postgres' ? `the real server on Postgres` : 'the dev server'})`,
      ],
      ['Temporal Web UI', `http://localhost:${s.ports.temporalUi}`],
      ['Temporal metrics', `http://127.0.0.1:${s.ports.temporalMetrics}/metrics`],
    ],
  },
  {
    // The test driver's mock hypervisor, shared over a socket with the worker, the tests and virsh.
    name: 'libvirtd',
    role: 'infrastructure',
    ports: {},
    start: (s) => startLibvirtd(s),
    ready: libvirtdReady,
    stop: { signal: 'SIGTERM', graceMs: 15_000 },
    // The keeper's connection is what keeps the test driver's domains: it goes first, then the daemon.
    companions: [libvirtdKeeper],
    leftovers: (s) => [libvirtdPaths(s).config, libvirtdPaths(s).socket],
    env: (s) => ({ LIBVIRT_URI: libvirtUri(s) }),
    endpoints: (s) => [['libvirt', `${libvirtUri(s)}  (inspect: virsh -c '${libvirtUri(s)}' list --all)`]],
  },
  {
    name: 'prometheus',
    role: 'infrastructure',
    ports: { prometheus: { local: 9090, test: 19090 } },
    start: (s, opts) => startStackPrometheus(s, opts),
    ready: (s) => httpReady(`http://127.0.0.1:${s.ports.prometheus}/-/ready`),
    stop: infrastructureStop,
    leftovers: (s) => [prometheusDir(s)],
    env: (s) => ({ PROMETHEUS_URL: `http://127.0.0.1:${s.ports.prometheus}` }),
    endpoints: (s) => [['Prometheus', `http://127.0.0.1:${s.ports.prometheus}`]],
  },
  {
    // The local CBB-compatible server: infrastructure as far as the tests go, like a partner's sandbox.
    ...app({
      name: 'cbb',
      entry: 'dist/scripts/cbb-server/index.js',
      ports: { cbb: { local: 3100, test: 13100 } },
      ready: (s) => httpReady(`http://127.0.0.1:${s.ports.cbb}/_admin/health`),
      endpoints: (s) => [['Local CBB server', `http://127.0.0.1:${s.ports.cbb}/api`]],
    }),
    role: 'infrastructure',
    env: (s) => ({
      CBB_BASE_URL: `http://127.0.0.1:${s.ports.cbb}/api`,
      CBB_PORT: String(s.ports.cbb),
      CBB_ADMIN_TOKEN: cbbAdminToken(s),
    }),
  },
  app({
    name: 'worker',
    entry: 'dist/workers/orchestrator.js',
    ports: { workerMetrics: { local: 9464, test: 19464 } },
    ready: (s, name) => workerPolling(s, name, process.env.TEMPORAL_TASK_QUEUE ?? 'orchestrator'),
    // Benchmarks and tests scale out by starting more workers on the same task queue (`worker-2`…),
    // each with its own metrics port: the one after the hmm worker's, within the test slot's ten.
    instances: {
      max: workerInstances,
      env: (s, n) => ({ WORKER_METRICS_PORT: String(s.ports.workerMetrics + n) }),
    },
    // A bounded heap: left to V8's default (a quarter of the machine's memory, up to 4 GB) the
    // worker grew to 1.2 GB during a sweep of 200 syncs at a time; 256 MB held it near 340 MB
    // with no more CPU per sync (docs/cbb-sync.md, "Worker tuning and memory").
    nodeArgs: [workerHeapLimit],
    // A worker drains its running activities before it exits.
    graceMs: 60_000,
    endpoints: (s) => [['Worker metrics', `http://127.0.0.1:${s.ports.workerMetrics}/metrics`]],
  }),
  {
    // CPU-bound HMM fits on their own task queue and process, apart from the I/O work.
    ...app({
      name: 'hmm-worker',
      entry: 'dist/workers/hmm.js',
      ports: { hmmWorkerMetrics: { local: 9465, test: 19465 } },
      ready: (s) => workerPolling(s, 'hmm-worker', process.env.HMM_TASK_QUEUE ?? hmmTaskQueue),
      graceMs: 60_000,
      endpoints: (s) => [['HMM worker metrics', `http://127.0.0.1:${s.ports.hmmWorkerMetrics}/metrics`]],
    }),
    env: (s) => ({ HMM_WORKER_METRICS_PORT: String(s.ports.hmmWorkerMetrics) }),
  },
  {
    ...app({
      name: 'api',
      entry: 'dist/api/main.js',
      ports: { api: { local: 3000, test: 13000 } },
      ready: (s) => httpReady(`http://127.0.0.1:${s.ports.api}/healthz`),
      endpoints: (s) => [
        ['API', `http://127.0.0.1:${s.ports.api}  (health: /healthz, readiness: /readyz, metrics: /metrics)`],
      ],
    }),
    env: (s) => ({
      API_PORT: String(s.ports.api),
      // Signs the API's key cache in Redis; made once into the stack's folder (0600) unless one is given.
      API_KEY_CACHE_SECRET:
        process.env.API_KEY_CACHE_SECRET || storedSecret(join(s.dataDir, 'secrets', 'api-key-cache')),
    }),
  },
] as const satisfies readonly (StackPart & { app?: AppSpec })[];

export type PartName = (typeof parts)[number]['name'];
export type AppName = Extract<(typeof parts)[number], { app: AppSpec }>['name'];

export const partNames = parts.map((p) => p.name) as PartName[];
export const infrastructure = parts.filter((p) => p.role === 'infrastructure').map((p) => p.name) as PartName[];

export function part(name: string): StackPart & { app?: AppSpec } {
  const found = parts.find((p) => p.name === name);
  if (!found) throw new Error(`no stack part named ${JSON.stringify(name)}; the parts are ${partNames.join(', ')}`);
  return found;
}

const declaredPorts = Object.assign({}, ...parts.map((p) => p.ports)) as Record<string, PortDeclaration>;

/** The stack's folders and the ports its parts declare. */
export function stackSettings(profile: Profile, env: NodeJS.ProcessEnv = process.env): StackSettings {
  return baseSettings(profile, declaredPorts, env);
}

/** The environment the worker, the API and the tests get to reach this stack. */
export function appEnv(s: StackSettings): Record<string, string> {
  return Object.assign(
    // The canary demo's and tests' HAProxy, when they start one.
    { WORKER_METRICS_PORT: String(s.ports.workerMetrics), HAPROXY_SOCKET: haproxySocketPath(s) },
    ...parts.map((p) => ('env' in p && p.env ? p.env(s) : {})),
  ) as Record<string, string>;
}

function appProcessEnv(s: StackSettings): NodeJS.ProcessEnv {
  return {
    ...appEnv(s),
    NODE_ENV: s.profile === 'test' ? 'test' : (process.env.NODE_ENV ?? 'production'),
    LOG_PRETTY: 'false',
  };
}

/**
 * Starts one of the project's own processes (worker, API, local CBB server), with extra
 * environment if given; `instance` 2 and up starts one more of it (`worker-2`), where the
 * part allows more than one; `nodeArgs` are Node's options for the process (`--cpu-prof`).
 * `npm run up` and `down`'s supervisor know only the first.
 */
export function startAppPart(
  s: StackSettings,
  name: AppName,
  env: NodeJS.ProcessEnv = {},
  opts: { instance?: number; nodeArgs?: string[] } = {},
): Promise<number> {
  const spec = part(name).app;
  if (!spec) throw new Error(`${name} is not one of the project's own processes`);
  return startApp(s, spec, env, opts);
}

/** The pid-file names of a part's extra instances (2 and up) that a benchmark or test may have started. */
export function extraInstanceNames(p: StackPart & { app?: AppSpec }): string[] {
  const app = p.app;
  if (!app?.instances) return [];
  return Array.from({ length: app.instances.max - 1 }, (_, i) => instanceName(app, i + 2));
}
