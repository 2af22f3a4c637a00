import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { cbbSweepScheduleId } from '../../lib/cbb/contract';
import { loadConfig } from '../../lib/infra/config';
import { temporalConnectionOptions } from '../../lib/infra/temporal';
import { appEnv, stackSettings } from '../stack/parts';
import { projectRoot } from '../stack/settings';
import { sleep } from '../stack/proc';
import { openPage } from './chromium';

/**
 * `npm run screenshots`: against a running stack (`npm run up`), starts what an operator
 * should be able to read in the Web UI — a paused data migration, a CBB sync, the running
 * sweep and a rollout a person aborted — and takes PNGs of the workflow list and of each run's page into
 * docs/img/. Needs rows in `trades` (`npm run seed:trades`) and the `cbb-sweep`
 * Schedule unpaused (as `npm run up` leaves it).
 */
const config = loadConfig({ ...appEnv(stackSettings('local')), ...process.env });
const apiBase = `http://127.0.0.1:${config.api.port}`;
const outDir = join(projectRoot, 'docs', 'img');

async function api<T>(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await fetch(`${apiBase}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(config.api.token ? { authorization: `Bearer ${config.api.token}` } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** Polls until `check` returns a value, at most `timeoutMs`; the error says what it waited for. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await check();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(500);
  }
}

const detailsOf = async (h: WorkflowHandle) =>
  (await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';

async function runningSweep(client: Client): Promise<WorkflowHandle> {
  const schedule = client.schedule.getHandle(cbbSweepScheduleId);
  const d = await schedule.describe();
  if (d.state.paused)
    throw new Error(
      `the ${cbbSweepScheduleId} Schedule is paused (${d.state.note ?? 'no note'}): unpause it with ` +
        `.venv/bin/temporal schedule toggle --schedule-id ${cbbSweepScheduleId} --unpause --reason screenshots`,
    );
  // Its next tick starts a run (within a minute): a triggered one would only step aside for it.
  const id = await until('the sweep Schedule to start a run', async () => {
    return (await schedule.describe()).info.runningActions[0]?.workflow.workflowId;
  });
  const handle = client.workflow.getHandle(id);
  await until('the sweep to be idle between sweeps', async () =>
    (await detailsOf(handle)).startsWith('idle since') ? true : undefined,
  );
  return handle;
}

async function syncedOrder(client: Client): Promise<WorkflowHandle> {
  const phone = `+97252${String(Date.now() % 10_000_000).padStart(7, '0')}`;
  const created = await api<{ workflow: { workflowId: string } }>('POST', '/api/v1/orders', {
    externalId: `SHOT-${Date.now()}`,
    branch: 'IL',
    isTest: false,
    customerName: 'Dana Levi',
    email: 'dana@example.com',
    phone,
    whatsappAlerts: true,
    visa: { country: 'India', type: 'tourist', quantity: 1, entryDate: '2027-01-15' },
    amount: 120,
    currency: 'ILS',
    urgency: 'standard',
  });
  const handle = client.workflow.getHandle(created.workflow.workflowId);
  await handle.result();
  return handle;
}

async function pausedMigration(client: Client): Promise<WorkflowHandle> {
  const run = await api<{ id: string }>('POST', '/api/v1/migrations/trades-risk-score/runs', {
    batchSize: 200,
    maxRowsPerSecond: 100,
  });
  const handle = client.workflow.getHandle(run.id);
  await until('the migration to finish its first batch', async () => {
    const r = await api<{ state: string; rowsDone: number }>('GET', `/api/v1/migrations/runs/${run.id}`);
    if (r.state === 'completed' && r.rowsDone === 0)
      throw new Error('the trades table is empty: seed it first (npm run seed:trades -- 100000)');
    return r.rowsDone > 0 ? true : undefined;
  });
  await api('POST', `/api/v1/migrations/runs/${run.id}/pause`, {});
  await until('the migration to say paused', async () =>
    (await detailsOf(handle)).startsWith('paused') ? true : undefined,
  );
  return handle;
}

/** A rollout a person aborted: the page says who and why, and that retry starts it again. */
async function abortedRollout(client: Client): Promise<WorkflowHandle> {
  const target = `checkout-${Date.now().toString(36)}`;
  const started = await api<{ id: string }>('POST', '/api/v1/rollouts', { target, version: '2.4.0' });
  const handle = client.workflow.getHandle(started.id);
  await until('the rollout to set its first weight', async () => {
    const view = await api<{ status?: { weight: number } }>('GET', `/api/v1/rollouts/${started.id}`);
    return (view.status?.weight ?? 0) > 0 ? true : undefined;
  });
  await api(
    'POST',
    `/api/v1/rollouts/${started.id}/abort`,
    { reason: 'p95 up since 2.4.0' },
    { 'x-requested-by': 'alice' },
  );
  await until('the rollout to say aborted', async () =>
    (await detailsOf(handle)).startsWith('aborted') ? true : undefined,
  );
  return handle;
}

/** The list's columns, as the Web UI stores a user's choice: each process's state beside its type. */
const listColumns = ['Status', 'Workflow ID', 'Type', 'MigrationState', 'SyncStatus', 'RolloutPhase', 'VmState']
  .concat(['AnalysisState', 'Start', 'End'])
  .map((label, i) => ({ label, pinned: i < 2 }));

async function shoot(runs: Record<string, WorkflowHandle>): Promise<void> {
  const namespace = config.temporal.namespace;
  const ui = `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows`;
  const page = await openPage({ width: 1800, height: 1000 });
  try {
    await page.setLocalStorage(config.temporal.uiUrl, {
      'namespace-workflow-table-columns': { [namespace]: listColumns },
    });
    await page.shoot(ui, join(outDir, 'workflow-list.png'), ['paused', 'cbbSweep', 'cbbSyncOrder', 'aborted']);
    console.log(`docs/img/workflow-list.png  ${ui}`);
    for (const [name, handle] of Object.entries(runs)) {
      const d = await handle.describe();
      const details = await detailsOf(handle);
      // The run's User Metadata tab: its summary, static details and current details.
      const url = `${ui}/${encodeURIComponent(handle.workflowId)}/${d.runId}/user-metadata`;
      await page.shoot(url, join(outDir, `${name}.png`), [(await d.staticSummary()) ?? '', details.slice(0, 40)]);
      console.log(`docs/img/${name}.png  ${url}\n  ${details}`);
    }
  } finally {
    await page.close();
  }
}

async function main(): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  try {
    const sweep = await runningSweep(client);
    const sync = await syncedOrder(client);
    const migration = await pausedMigration(client);
    const rollout = await abortedRollout(client);
    try {
      mkdirSync(outDir, { recursive: true });
      await shoot({ 'cbb-sweep': sweep, 'cbb-sync': sync, 'migration-paused': migration, 'rollout-aborted': rollout });
    } finally {
      // The paused run would block the next start of the same migration: it ends here, cancelled.
      await api('POST', `/api/v1/migrations/runs/${migration.workflowId}/cancel`, {});
    }
  } finally {
    await connection.close();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`screenshots: ${err.message}`);
    process.exit(1);
  },
);
