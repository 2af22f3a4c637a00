import { basename, join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * The one place that reads the environment. Everything else receives a Config.
 * Defaults point at the local stack that `npm run up` starts.
 */

const port = z.coerce.number().int().min(1).max(65535);
const duration = z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration such as 500ms, 30s, 5m or 1h');
const optional = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: bool.optional(),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('orchestrator'),
  TEMPORAL_UI_URL: z.string().url().default('http://localhost:8233'),
  TEMPORAL_TLS: bool.default('false'),
  TEMPORAL_TLS_CERT_PATH: optional,
  TEMPORAL_TLS_KEY_PATH: optional,
  TEMPORAL_TLS_CA_PATH: optional,
  TEMPORAL_TLS_SERVER_NAME: optional,
  TEMPORAL_API_KEY: optional,

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .default('postgres://orchestrator:orchestrator@127.0.0.1:55432/orchestrator'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(20),

  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:56379'),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3000),
  API_TOKEN: optional,
  // Every request's calls to Temporal and Postgres share this bound: a dependency that is down is a 503 within it.
  API_DEADLINE: duration.default('2s'),
  // A statement slower than this is logged and counted; their share over 5 minutes is /readyz's query health.
  API_SLOW_QUERY: duration.default('100ms'),
  // open: a key's requests go through unlimited while Redis is down; closed: they get 503.
  API_RATE_LIMIT_ON_REDIS_DOWN: z.enum(['open', 'closed']).default('open'),
  // How often the keys' usage counted in Redis is written to Postgres; `off` leaves the schedule alone.
  ACCESS_USAGE_FLUSH_EVERY: z.union([duration, z.literal('off')]).default('5m'),

  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_METRICS_PORT: port.default(9464),
  WORKER_SHUTDOWN_GRACE: duration.default('30s'),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(10000).default(200),
  // A workflow task stays open while its local activities run: this bounds the CBB syncs in progress.
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(1).max(10000).default(250),
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: z.coerce.number().int().min(1).max(10000).default(250),

  CBB_BASE_URL: z.string().url().default('http://127.0.0.1:3100/api'),
  // The local CBB server accepts this key; a real CBB account's token comes from the environment only.
  CBB_API_KEY: z.string().min(1).default('local-dev-cbb-key'),
  CBB_TIMEOUT: duration.default('10s'),
  CBB_SWEEP_CONCURRENCY: z.coerce.number().int().min(1).max(5000).default(200),
  // WhatsApp sends in flight per worker: a worker that dies leaves at most this many unconfirmed.
  CBB_MAX_CONCURRENT_SENDS: z.coerce.number().int().min(1).max(1000).default(10),
  // `off`: this worker leaves the sweep's Schedule alone (another deployment owns it).
  CBB_SWEEP_EVERY: z.union([duration, z.literal('off')]).default('1m'),

  // local: fit in the hmm worker; remote: POST ${HMM_SERVICE_URL}/analyze (the origin's service API).
  HMM_ENGINE: z.enum(['local', 'remote']).default('local'),
  HMM_TASK_QUEUE: z.string().min(1).default('hmm'),
  HMM_SERVICE_URL: z
    .string()
    .url()
    .optional()
    .or(z.literal('').transform(() => undefined)),
  HMM_SERVICE_TOKEN: optional,
  // A fit of a few thousand bars takes seconds; longer than this is a hung service, retried.
  HMM_SERVICE_TIMEOUT: duration.default('60s'),
  HMM_WORKER_METRICS_PORT: port.default(9465),
  // Fits run one EM round at a time between other tasks: more than a few only share the core.
  HMM_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(100).default(4),
  HMM_CACHE_TTL: duration.default('10m'),
  HMM_REFIT_EVERY: duration.default('24h'),
  HMM_REFIT_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(2),

  // The local stack's libvirtd (test driver) by default; qemu:///system or qemu+ssh://host/system in production.
  LIBVIRT_URI: optional,
  DATA_DIR: optional,
  // What a machine's domain XML says it is: `test` for the test driver, `kvm` where /dev/kvm works, `qemu` (TCG) otherwise.
  LIBVIRT_DOMAIN_TYPE: z.enum(['test', 'qemu', 'kvm']).optional(),
  // The VM backend's pool: 2 to 10 connections, 30 s to wait for one, idle ones beyond the minimum closed after 60 s.
  LIBVIRT_POOL_MIN: z.coerce.number().int().min(0).max(100).default(2),
  LIBVIRT_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  LIBVIRT_ACQUIRE_TIMEOUT: duration.default('30s'),
  LIBVIRT_IDLE_TIMEOUT: duration.default('60s'),
  LIBVIRT_VIRSH_TIMEOUT: duration.default('60s'),
  // How long a guest gets to power off after the ACPI request before it is destroyed.
  VM_SHUTDOWN_TIMEOUT: duration.default('60s'),
  VM_RECONCILE_EVERY: duration.default('1m'),

  // Canary rollouts: where the worker reaches the traffic controllers and metrics providers.
  // A spec never names sockets or secrets; it picks a controller and the worker supplies these.
  HAPROXY_SOCKET: optional,
  PROMETHEUS_URL: z
    .string()
    .url()
    .optional()
    .or(z.literal('').transform(() => undefined)),
  PROMETHEUS_TIMEOUT: duration.default('10s'),
  ROLLOUT_WEBHOOK_TOKEN: optional,
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  log: { level: Env['LOG_LEVEL']; pretty: boolean };
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    uiUrl: string;
    tls?: { certPath?: string; keyPath?: string; caPath?: string; serverName?: string };
    apiKey?: string;
  };
  database: { url: string; poolMax: number };
  redis: { url: string };
  api: {
    host: string;
    port: number;
    token?: string;
    deadlineMs: number;
    slowQueryMs: number;
    rateLimitOnRedisDown: 'open' | 'closed';
  };
  access: { usageFlushEvery: string };
  worker: {
    metricsHost: string;
    metricsPort: number;
    shutdownGrace: string;
    maxConcurrentActivities: number;
    maxConcurrentWorkflowTasks: number;
    maxConcurrentLocalActivities: number;
  };
  cbb: {
    baseUrl: string;
    apiKey: string;
    timeoutMs: number;
    sweepConcurrency: number;
    sweepEvery: string;
    maxConcurrentSends: number;
  };
  hmm: {
    engine: 'local' | 'remote';
    taskQueue: string;
    serviceUrl?: string;
    serviceToken?: string;
    serviceTimeoutMs: number;
    workerMetricsPort: number;
    maxConcurrentActivities: number;
    cacheTtlSeconds: number;
    refitEvery: string;
    refitConcurrency: number;
  };
  libvirt: {
    uri: string;
    domainType: 'test' | 'qemu' | 'kvm';
    pool: { min: number; max: number; acquireTimeoutMs: number; idleTimeoutMs: number };
    virshTimeoutMs: number;
  };
  vm: { shutdownTimeoutMs: number; reconcileEvery: string };
  rollout: {
    /** HAProxy's admin-level runtime API socket (`stats socket <path> level admin`). */
    haproxySocket?: string;
    prometheusUrl?: string;
    prometheusTimeoutMs: number;
    /** Bearer token the webhook traffic controller sends. */
    webhookToken?: string;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the environment once; a bad value names the variable and what it expected. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = i.path.join('.');
      const got = env[name];
      const shown = got === undefined ? 'nothing' : isSecretName(name) ? '(hidden)' : JSON.stringify(got);
      return `  ${name}: expected ${describeIssue(i)}, got ${shown}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.HMM_ENGINE === 'remote' && !e.HMM_SERVICE_URL) {
    throw new ConfigError(
      'invalid configuration:\n  HMM_SERVICE_URL: expected a URL when HMM_ENGINE=remote, got nothing',
    );
  }
  const useTls = e.TEMPORAL_TLS || !!e.TEMPORAL_TLS_CERT_PATH || !!e.TEMPORAL_API_KEY;
  return {
    env: e.NODE_ENV,
    log: { level: e.LOG_LEVEL, pretty: e.LOG_PRETTY ?? !!process.stdout.isTTY },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL.replace(/\/$/, ''),
      tls: useTls
        ? {
            certPath: e.TEMPORAL_TLS_CERT_PATH,
            keyPath: e.TEMPORAL_TLS_KEY_PATH,
            caPath: e.TEMPORAL_TLS_CA_PATH,
            serverName: e.TEMPORAL_TLS_SERVER_NAME,
          }
        : undefined,
      apiKey: e.TEMPORAL_API_KEY,
    },
    database: { url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX },
    redis: { url: e.REDIS_URL },
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      token: e.API_TOKEN,
      deadlineMs: durationMs(e.API_DEADLINE),
      slowQueryMs: durationMs(e.API_SLOW_QUERY),
      rateLimitOnRedisDown: e.API_RATE_LIMIT_ON_REDIS_DOWN,
    },
    access: { usageFlushEvery: e.ACCESS_USAGE_FLUSH_EVERY },
    worker: {
      metricsHost: e.WORKER_METRICS_HOST,
      metricsPort: e.WORKER_METRICS_PORT,
      shutdownGrace: e.WORKER_SHUTDOWN_GRACE,
      maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTasks: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxConcurrentLocalActivities: e.WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES,
    },
    cbb: {
      baseUrl: e.CBB_BASE_URL.replace(/\/$/, ''),
      apiKey: e.CBB_API_KEY,
      timeoutMs: durationMs(e.CBB_TIMEOUT),
      sweepConcurrency: e.CBB_SWEEP_CONCURRENCY,
      maxConcurrentSends: e.CBB_MAX_CONCURRENT_SENDS,
      sweepEvery: e.CBB_SWEEP_EVERY,
    },
    hmm: {
      engine: e.HMM_ENGINE,
      taskQueue: e.HMM_TASK_QUEUE,
      serviceUrl: e.HMM_SERVICE_URL?.replace(/\/$/, ''),
      serviceToken: e.HMM_SERVICE_TOKEN,
      serviceTimeoutMs: durationMs(e.HMM_SERVICE_TIMEOUT),
      workerMetricsPort: e.HMM_WORKER_METRICS_PORT,
      maxConcurrentActivities: e.HMM_MAX_CONCURRENT_ACTIVITIES,
      cacheTtlSeconds: Math.max(1, Math.round(durationMs(e.HMM_CACHE_TTL) / 1000)),
      refitEvery: e.HMM_REFIT_EVERY,
      refitConcurrency: e.HMM_REFIT_CONCURRENCY,
    },
    libvirt: libvirtConfig(e),
    vm: { shutdownTimeoutMs: durationMs(e.VM_SHUTDOWN_TIMEOUT), reconcileEvery: e.VM_RECONCILE_EVERY },
    rollout: {
      haproxySocket: e.HAPROXY_SOCKET,
      prometheusUrl: e.PROMETHEUS_URL?.replace(/\/$/, ''),
      prometheusTimeoutMs: durationMs(e.PROMETHEUS_TIMEOUT),
      webhookToken: e.ROLLOUT_WEBHOOK_TOKEN,
    },
  };
}

/** The project's root, from sources (lib/infra) and compiled code (dist/lib/infra) alike. */
const projectRoot = (): string => {
  const up = resolve(__dirname, '..', '..');
  return basename(up) === 'dist' ? resolve(up, '..') : up;
};

/** The socket of the libvirtd that `npm run up` starts (scripts/stack/libvirtd.ts puts it there). */
export const localLibvirtUri = (dataDir?: string): string =>
  `test+unix:///default?socket=${join(resolve(projectRoot(), dataDir ?? '.data'), 'libvirt', 'libvirt-sock')}`;

function libvirtConfig(e: Env): Config['libvirt'] {
  const uri = e.LIBVIRT_URI ?? localLibvirtUri(e.DATA_DIR);
  if (e.LIBVIRT_POOL_MIN > e.LIBVIRT_POOL_MAX) {
    throw new ConfigError(
      `invalid configuration:\n  LIBVIRT_POOL_MIN: expected at most LIBVIRT_POOL_MAX (${e.LIBVIRT_POOL_MAX}), got ${e.LIBVIRT_POOL_MIN}`,
    );
  }
  return {
    uri,
    // The test driver only knows domains of type `test`; a real hypervisor is asked for KVM unless told otherwise.
    domainType: e.LIBVIRT_DOMAIN_TYPE ?? (uri.startsWith('test') ? 'test' : 'kvm'),
    pool: {
      min: e.LIBVIRT_POOL_MIN,
      max: e.LIBVIRT_POOL_MAX,
      acquireTimeoutMs: durationMs(e.LIBVIRT_ACQUIRE_TIMEOUT),
      idleTimeoutMs: durationMs(e.LIBVIRT_IDLE_TIMEOUT),
    },
    virshTimeoutMs: durationMs(e.LIBVIRT_VIRSH_TIMEOUT),
  };
}

function durationMs(text: string): number {
  const [, n, unit] = /^(\d+)(ms|s|m|h)$/.exec(text) ?? [];
  return Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
}

function isSecretName(name: string): boolean {
  return /KEY|TOKEN|PASSWORD|SECRET|DATABASE_URL|REDIS_URL/.test(name);
}

function describeIssue(issue: z.ZodIssue): string {
  switch (issue.code) {
    case 'invalid_enum_value':
      return `one of ${issue.options.join(', ')}`;
    case 'too_small':
      return `at least ${issue.minimum}`;
    case 'too_big':
      return `at most ${issue.maximum}`;
    case 'invalid_type':
      return issue.expected === 'number' ? 'a number' : issue.expected;
    default:
      return issue.message.replace(/^Invalid /, 'a valid ');
  }
}
