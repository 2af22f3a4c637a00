import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../../lib/infra/temporal-setup';
import { storedSecret } from '../../lib/infra/secret-file';
import { adminDatabaseUrl, withClient } from './postgres-roles';
import { commandLine, logFile, runningPid, spawnDetached, stopProcess, waitFor } from './proc';
import type { StackSettings } from './settings';
import { missingTools, temporalServerVersion, temporalTools, type TemporalTools } from './temporal-tools';

const run = promisify(execFile);

/**
 * The stack's `TEMPORAL_SERVER=postgres` mode: the real Temporal server (all four
 * services in one process, as a small production cluster starts) on the stack's own
 * Postgres, with Postgres visibility, its Prometheus metrics on the port the dev
 * server's use, and the Web UI server beside it. The schema and the namespace are
 * applied by deploy/compose's own scripts, so compose and the stack prepare a server
 * the same way.
 */

export const temporalUiProcess = 'temporal-ui';
const role = 'temporal';
const databases = ['temporal', 'temporal_visibility'];
/** A production cluster sizes this once, for good (docs/scale.md): 4 shards suit one small machine. */
const historyShards = 4;

/** Frontend HTTP, membership and the other services' gRPC ports: a block of 8 from `temporalServices`. */
export function servicePorts(s: StackSettings) {
  const base = s.ports.temporalServices!;
  return {
    frontendHttp: base,
    frontendMembership: base + 1,
    historyGrpc: base + 2,
    historyMembership: base + 3,
    matchingGrpc: base + 4,
    matchingMembership: base + 5,
    workerGrpc: base + 6,
    workerMembership: base + 7,
  };
}

const serverDir = (s: StackSettings) => join(s.dataDir, 'temporal-server');
const databasePassword = (s: StackSettings) => storedSecret(join(s.dataDir, 'secrets', 'temporal-db'));

/** Paths that name this mode's processes on their command lines (for `down` when pid files are lost). */
export function realServerLeftovers(s: StackSettings): string[] {
  return [join(serverDir(s), 'config'), join(serverDir(s), 'ui')];
}

function renderConfig(s: StackSettings, password: string): void {
  const p = servicePorts(s);
  const dir = join(serverDir(s), 'config');
  mkdirSync(dir, { recursive: true });
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${s.ports.postgres}`,
      connectProtocol: 'tcp',
      user: role,
      password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, extra: object = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: '127.0.0.1', ...extra },
  });
  const frontend = `127.0.0.1:${s.ports.temporal}`;
  // YAML is a superset of JSON: the server reads this as its development.yaml.
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: historyShards,
      datastores: { default: store('temporal', 20), visibility: store('temporal_visibility', 10) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: {
        prometheus: {
          framework: 'tally',
          timerType: 'histogram',
          listenAddress: `127.0.0.1:${s.ports.temporalMetrics}`,
        },
      },
    },
    services: {
      frontend: rpc(s.ports.temporal!, p.frontendMembership, { httpPort: p.frontendHttp }),
      history: rpc(p.historyGrpc, p.historyMembership),
      matching: rpc(p.matchingGrpc, p.matchingMembership),
      worker: rpc(p.workerGrpc, p.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontend },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    // The worker service (Schedules, batch operations) reaches the frontend here.
    publicClient: { hostPort: frontend },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    // The same file compose's server reads.
    dynamicConfigClient: {
      filepath: join(s.root, 'deploy', 'compose', 'temporal-dynamic-config.yaml'),
      pollInterval: '10s',
    },
  };
  writeFileSync(join(dir, 'development.yaml'), JSON.stringify(config, null, 2), { mode: 0o600 });
}

/** Temporal's own role and its two databases, apart from the project's role and data. */
async function ensureDatabases(s: StackSettings, password: string, fresh: boolean): Promise<void> {
  await withClient(adminDatabaseUrl(s), async (c) => {
    if (fresh) for (const db of databases) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    const quoted = `'${password.replace(/'/g, "''")}'`;
    await c.query(`${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${role} LOGIN PASSWORD ${quoted}`);
    for (const db of databases) {
      const has = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!has.rowCount) await c.query(`CREATE DATABASE ${db} OWNER ${role}`);
    }
  });
}

async function applySchema(s: StackSettings, t: TemporalTools, password: string): Promise<void> {
  await run('sh', [join(s.root, 'deploy', 'compose', 'temporal-schema.sh')], {
    env: {
      PATH: `${t.dir}:${process.env.PATH}`,
      TEMPORAL_SCHEMA_DIR: t.schemaDir,
      POSTGRES_SEEDS: '127.0.0.1',
      DB_PORT: String(s.ports.postgres),
      POSTGRES_USER: role,
      SQL_PASSWORD: password,
      DBNAME: databases[0],
      VISIBILITY_DBNAME: databases[1],
    },
  });
}

function spawnServer(s: StackSettings, t: TemporalTools): void {
  spawnDetached(s, {
    name: 'temporal',
    command: t.server,
    args: ['--root', serverDir(s), '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'],
  });
}

async function frontendAnswers(s: StackSettings): Promise<boolean> {
  const connection = await Connection.connect({ address: `127.0.0.1:${s.ports.temporal}`, connectTimeout: 1000 });
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } finally {
    await connection.close();
  }
}

/**
 * A namespace is usable once the frontend's namespace cache holds it: describe reads the
 * database, so a list (which goes through the cache) is the probe.
 */
async function namespacesUsable(s: StackSettings, namespaces: string[]): Promise<boolean> {
  const connection = await Connection.connect({ address: `127.0.0.1:${s.ports.temporal}`, connectTimeout: 1000 });
  try {
    for (const namespace of namespaces)
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
    return true;
  } finally {
    await connection.close();
  }
}

/**
 * A running stack keeps the server it was started with: switching TEMPORAL_SERVER under it
 * would leave the other server holding the port (and the stack's workflows).
 */
export function assertSameTemporalServer(s: StackSettings): void {
  const pid = runningPid(s, 'temporal');
  if (pid === undefined) return;
  const running = commandLine(pid)?.includes(temporalTools(s.root).server) ? 'postgres' : 'dev';
  if (running === s.temporalServer) return;
  const name = (k: string) => (k === 'postgres' ? 'the real server (TEMPORAL_SERVER=postgres)' : 'the dev server');
  throw new Error(
    `the stack's Temporal (pid ${pid}) is ${name(running)}, and this start asks for ${name(s.temporalServer)}: ` +
      `stop the stack first (npm run down), or start it with TEMPORAL_SERVER=${running}`,
  );
}

const waitOpts = (s: StackSettings) => ({
  timeoutMs: 120_000,
  pid: () => runningPid(s, 'temporal'),
  log: logFile(s, 'temporal'),
});

export async function startRealTemporal(
  s: StackSettings,
  namespaces: string[],
  opts: { fresh?: boolean } = {},
): Promise<void> {
  const t = temporalTools(s.root);
  const missing = missingTools(t);
  if (missing.length > 0)
    throw new Error(
      `TEMPORAL_SERVER=postgres needs the real Temporal server ${temporalServerVersion}, which is not built ` +
        `(missing: ${missing.join(', ')}). Build it once with: npm run temporal:server -- build`,
    );
  assertSameTemporalServer(s);
  const running = runningPid(s, 'temporal');
  const password = databasePassword(s);
  // A fresh start of a running server would pull its databases from under it.
  if (opts.fresh && running !== undefined) await stopProcess(s, 'temporal', { graceMs: 20_000 });
  await ensureDatabases(s, password, opts.fresh === true);
  await applySchema(s, t, password);
  renderConfig(s, password);
  if (runningPid(s, 'temporal') === undefined) spawnServer(s, t);
  await waitFor('temporal', () => frontendAnswers(s), waitOpts(s));
  for (const namespace of namespaces)
    await run('sh', [join(s.root, 'deploy', 'compose', 'temporal-namespace.sh')], {
      env: {
        PATH: `${join(s.root, '.venv', 'bin')}:${process.env.PATH}`,
        TEMPORAL_ADDRESS: `127.0.0.1:${s.ports.temporal}`,
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_NAMESPACE_RETENTION: process.env.TEMPORAL_NAMESPACE_RETENTION || '72h',
      },
    });
  await waitFor('temporal namespaces', () => namespacesUsable(s, namespaces), waitOpts(s));
  const connection = await Connection.connect({ address: `127.0.0.1:${s.ports.temporal}` });
  const added: string[] = [];
  try {
    for (const namespace of namespaces) added.push(...(await ensureSearchAttributes(connection, namespace)));
  } finally {
    await connection.close();
  }
  // Each service caches the search attributes: a restart makes new ones usable everywhere at once.
  if (added.length > 0) {
    await stopProcess(s, 'temporal', { graceMs: 20_000 });
    spawnServer(s, t);
    await waitFor('temporal', () => namespacesUsable(s, namespaces), waitOpts(s));
  }
  if (s.profile === 'local') await startUi(s, t);
}

/** The Web UI server, against this frontend; the test stack, like the dev server's, runs headless. */
async function startUi(s: StackSettings, t: TemporalTools): Promise<void> {
  const root = join(serverDir(s), 'ui');
  mkdirSync(join(root, 'config'), { recursive: true });
  const config = {
    temporalGrpcAddress: `127.0.0.1:${s.ports.temporal}`,
    host: '127.0.0.1',
    port: s.ports.temporalUi,
    enableUi: true,
    defaultNamespace: 'default',
    notifyOnNewVersion: false,
    refreshInterval: '1m',
    cors: { allowOrigins: [] as string[] },
    auth: { enabled: false },
  };
  writeFileSync(join(root, 'config', 'development.yaml'), JSON.stringify(config, null, 2));
  if (runningPid(s, temporalUiProcess) === undefined)
    spawnDetached(s, {
      name: temporalUiProcess,
      command: t.uiServer,
      args: ['--root', root, '--config', 'config', '--env', 'development', 'start'],
    });
  const answers = () =>
    fetch(`http://127.0.0.1:${s.ports.temporalUi}/`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok);
  await waitFor(temporalUiProcess, answers, {
    pid: () => runningPid(s, temporalUiProcess),
    log: logFile(s, temporalUiProcess),
  });
}
