import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { createLogger } from '../../lib/infra/logger';
import { migrate } from '../../lib/infra/schema-migrations';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { stopProcess } from '../../scripts/stack/proc';
import { httpReady, startApp, venvBin, workerPolling } from '../../scripts/stack/services';

/**
 * The OpenAPI document is the API's contract: schemathesis (from the project's venv)
 * generates requests from it — examples, boundary values, random data, chains that
 * follow the documented links — and runs every check it has: no 5xx, every status
 * and header documented, bodies as described, schema-valid input accepted and invalid
 * input refused, wrong methods 405. It must find nothing. schemathesis.toml names the
 * rules a schema cannot state.
 *
 * The API under fuzz gets a database and a task queue of its own, so the orders, runs
 * and workflows it creates touch no other test's data, and a worker of its own.
 */
const s = stackSettings('test');
const port = s.ports.api + 5;
const tag = `fuzz_${process.pid}`;
const base = new URL(appEnv(s).DATABASE_URL);
const fuzzDb = new URL(base);
fuzzDb.pathname = `/${tag}`;
const admin = new PgClient({ connectionString: base.toString() });
const env = {
  ...appEnv(s),
  DATABASE_URL: fuzzDb.toString(),
  TEMPORAL_TASK_QUEUE: tag,
  HMM_TASK_QUEUE: `${tag}-hmm`,
  LOG_LEVEL: 'warn',
  LOG_PRETTY: 'false',
  NODE_ENV: 'test',
};

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${tag}`);
  await migrate(fuzzDb.toString(), 'up', createLogger({ log: { level: 'warn', pretty: false } }, 'migrate'));
  // Workflow ids come from row ids (`vm-<id>`, `cbb-sync-order-<id>`) and share Temporal's namespace with
  // the other tests: the fuzz's rows count from a billion, so its ids never meet theirs.
  const fuzz = new PgClient({ connectionString: fuzzDb.toString() });
  await fuzz.connect();
  await fuzz.query(`SELECT setval(c.oid::regclass, 1000000000) FROM pg_class c WHERE c.relkind = 'S'`);
  await fuzz.end();
  // A worker on the fuzz queue answers the queries and updates the fuzzer sends to the workflows it started.
  await startApp(s, {
    name: 'worker-fuzz',
    entry: 'dist/workers/orchestrator.js',
    env: () => ({
      ...env,
      WORKER_METRICS_PORT: String(port + 1),
      CBB_SWEEP_EVERY: 'off',
      ACCESS_USAGE_FLUSH_EVERY: 'off',
    }),
    ready: () => workerPolling(s, 'worker-fuzz', tag),
  });
  await startApp(s, {
    name: 'api-fuzz',
    entry: 'dist/api/main.js',
    env: () => ({ ...env, API_PORT: String(port) }),
    ready: () => httpReady(`http://127.0.0.1:${port}/healthz`),
  });
}, 120_000);

afterAll(async () => {
  // What the fuzz started is ended, so none of it outlives the file.
  const connection = await Connection.connect({ address: appEnv(s).TEMPORAL_ADDRESS });
  const client = new Client({ connection });
  const query = `(TaskQueue = '${tag}' OR TaskQueue = '${tag}-hmm') AND ExecutionStatus = 'Running'`;
  for await (const wf of client.workflow.list({ query })) {
    await client.workflow
      .getHandle(wf.workflowId, wf.runId)
      .terminate('the API fuzz has ended')
      .catch(() => undefined);
  }
  await connection.close();
  await stopProcess(s, 'api-fuzz');
  await stopProcess(s, 'worker-fuzz', { graceMs: 60_000 });
  await admin.query(`DROP DATABASE IF EXISTS ${tag} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
});

test('schemathesis with every check finds no failure', async () => {
  const args = [
    'run',
    `http://127.0.0.1:${port}/openapi.json`,
    '--checks',
    'all',
    '--workers',
    '1',
    '--max-examples',
    '20',
    // A fixed seed makes a failure reproducible here; another seed explores further.
    '--seed',
    process.env.FUZZ_SEED ?? '1',
    '--no-color',
  ];
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      venvBin(s, 'schemathesis'),
      args,
      { cwd: join(__dirname, '..', '..'), maxBuffer: 32 * 1024 * 1024, timeout: 600_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  if (code !== 0) console.log(output);
  expect(output).toMatch(/\d+ generated, \d+ passed/);
  expect(code).toBe(0);
}, 700_000);
