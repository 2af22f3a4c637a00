import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { Client as PgClient } from 'pg';
import { createLogger } from '../../lib/infra/logger';
import { migrate } from '../../lib/infra/schema-migrations';
import { appEnv, part, stackSettings } from '../../scripts/stack/parts';
import { adminDatabaseUrl } from '../../scripts/stack/postgres-roles';
import { stopProcess } from '../../scripts/stack/proc';
import { docsNamespace, startApp, workerPolling } from '../../scripts/stack/services';
import type { DocRewrite } from './doc-commands';

/**
 * The orchestrator as a reader of one doc meets it: an API, a worker and an HMM worker
 * with an empty database, an empty Redis database and a Temporal namespace of their own
 * (`docs`), on the test stack's Postgres, Redis, Temporal, libvirtd and Prometheus. Rows
 * count from 1, as the docs' commands expect (`machines/1`), without meeting the ids of
 * the other tests' workflows.
 */
const s = stackSettings('test');
const local = stackSettings('local', {});
const ports = { api: s.ports.api + 7, workerMetrics: s.ports.api + 8, hmmWorkerMetrics: s.ports.api + 9 };
const redisDb = 9;
const apps = [
  { name: 'worker-docs', part: 'worker', queue: 'orchestrator' },
  { name: 'hmm-worker-docs', part: 'hmm-worker', queue: 'hmm' },
  { name: 'api-docs', part: 'api' },
] as const;

export interface DocsStack {
  /** The environment the doc's commands run with. */
  env: Record<string, string>;
  rewrite: DocRewrite;
  stop(): Promise<void>;
}

export async function startDocsStack(tag: string): Promise<DocsStack> {
  const database = `docs_${tag.replace(/\W/g, '_')}`.toLowerCase();
  const base = new URL(appEnv(s).DATABASE_URL);
  const url = new URL(base);
  url.pathname = `/${database}`;
  const env: Record<string, string> = {
    ...appEnv(s),
    DATABASE_URL: url.toString(),
    REDIS_URL: `${appEnv(s).REDIS_URL}/${redisDb}`,
    TEMPORAL_NAMESPACE: docsNamespace,
    API_PORT: String(ports.api),
    WORKER_METRICS_PORT: String(ports.workerMetrics),
    HMM_WORKER_METRICS_PORT: String(ports.hmmWorkerMetrics),
    LOG_PRETTY: 'false',
    NODE_ENV: 'test',
  };
  await admin(base, (c) => c.query(`CREATE DATABASE ${database}`));
  await migrate(url.toString(), 'up', createLogger({ log: { level: 'warn', pretty: false } }, 'migrate'));
  await flushRedis(env.REDIS_URL);
  for (const a of apps) {
    const spec = part(a.part).app;
    if (!spec) throw new Error(`${a.part} is not an app`);
    const ready =
      'queue' in a
        ? () => workerPolling(s, a.name, a.queue, docsNamespace)
        : () => fetch(`http://127.0.0.1:${ports.api}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok);
    await startApp(s, { ...spec, name: a.name, ready }, env);
  }
  return {
    env,
    rewrite: {
      ports: portMap(),
      dataDir: relative(s.root, s.dataDir),
    },
    stop: async () => {
      await endWorkflows();
      await undefineDomains(url, env.LIBVIRT_URI);
      for (const a of [...apps].reverse()) await stopProcess(s, a.name, { graceMs: 60_000 });
      // As the cluster's superuser: FORCE ends every session on it, and one left by a process of
      // another role (the API's, a CLI's) is not the owner's to end.
      await admin(new URL(adminDatabaseUrl(s)), (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
      await flushRedis(env.REDIS_URL);
    },
  };
}

/** Every local port the docs may name, to the port of the test process behind it. */
function portMap(): Record<number, number> {
  const map: Record<number, number> = {};
  for (const [name, port] of Object.entries(local.ports)) map[port] = s.ports[name];
  map[local.ports.api] = ports.api;
  map[local.ports.workerMetrics] = ports.workerMetrics;
  map[local.ports.hmmWorkerMetrics] = ports.hmmWorkerMetrics;
  return map;
}

async function admin(url: URL, run: (c: PgClient) => Promise<unknown>): Promise<void> {
  const c = new PgClient({ connectionString: url.toString() });
  await c.connect();
  try {
    await run(c);
  } finally {
    await c.end();
  }
}

async function flushRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}

/** What a doc started and left running, its Schedules included, ends with it. */
async function endWorkflows(): Promise<void> {
  const connection = await Connection.connect({ address: appEnv(s).TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: docsNamespace });
  try {
    for await (const sc of client.schedule.list()) await client.schedule.getHandle(sc.scheduleId).delete();
    for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
      await client.workflow
        .getHandle(wf.workflowId, wf.runId)
        .terminate('the docs test has ended')
        .catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

/** Machines a doc created and did not delete leave no domain behind in the shared libvirtd. */
async function undefineDomains(url: URL, libvirtUri: string): Promise<void> {
  const names: string[] = [];
  await admin(url, async (c) => {
    const res = await c.query<{ name: string }>('SELECT name FROM machines');
    names.push(...res.rows.map((r) => r.name));
  });
  for (const name of names) {
    for (const args of [
      ['destroy', name],
      ['undefine', '--snapshots-metadata', name],
    ]) {
      try {
        execFileSync('virsh', ['-c', libvirtUri, ...args], { stdio: 'ignore' });
      } catch {
        // Not running, or never defined: nothing to undo.
      }
    }
  }
}
