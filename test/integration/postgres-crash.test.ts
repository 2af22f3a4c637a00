import { Client as PgClient } from 'pg';
import { cbbSyncStartOptions, cbbSyncWorkflowType } from '../../lib/cbb/contract';
import { stackSettings } from '../../scripts/stack/parts';
import { isAlive, killProcess, runningPid } from '../../scripts/stack/proc';
import { startPart } from '../../scripts/stack/stack';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { startRun } from '../../store/batch-migration/start';
import { startWorkerProcess, stopAppProcesses } from '../helpers/app-parts';
import { holdRows } from '../helpers/gate';
import { createOrder } from '../helpers/cbb';
import { connectStack, type StackHandles } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

/**
 * Postgres's postmaster dies (SIGKILL) while the worker's activities hold connections
 * checked out of its pool: a CBB contact upsert inside its advisory-locked transaction,
 * an order confirmation's claim, and a migration batch's transaction. Each held connection reports the loss as an
 * 'error' event of its own; the worker process must stay up, and both activities must
 * fail, be retried by Temporal, and succeed once Postgres is back. The test holds the
 * locks the activities wait on, so they are holding their connections when it kills.
 */
const s = stackSettings('test');
let stack: StackHandles;
beforeAll(async () => {
  stack = await connectStack();
}, 60_000);
afterAll(async () => {
  await stopAppProcesses('worker');
  await stack?.close();
}, 90_000);

async function session(): Promise<PgClient> {
  const client = new PgClient({ connectionString: stack.config.database.url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Whether some backend waits on a lock this session holds. */
async function blocksSomeone(holder: PgClient): Promise<boolean> {
  const { rows } = await stack.pool.query(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
    [(holder as unknown as { processID: number }).processID],
  );
  return rows[0].n > 0;
}

test('a worker whose checked-out connections lose Postgres stays up, and its activities succeed after Postgres returns', async () => {
  const phone = `+97253${String(Date.now() % 10_000_000).padStart(7, '0')}`;
  const orderId = await createOrder(stack.pool, { phone, whatsappAlerts: true });
  await seedTrades(stack.pool, 10_000);

  const confirmedOrderId = await createOrder(stack.pool, { whatsappAlerts: true });

  // Sessions of the test's own hold what the activities wait on; they end with the postmaster.
  // The contact lock the upsert takes:
  const lockHolder = await session();
  await lockHolder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`cbb-contact:${phone}`]);
  // A confirmation claim for the second order, not committed: the worker's claim waits to learn its fate.
  const claimHolder = await session();
  await claimHolder.query('BEGIN');
  await claimHolder.query(
    "INSERT INTO cbb_confirmations (order_id, contact_id, state, claimed_by) VALUES ($1, 'gate', 'sending', 'the crash test')",
    [confirmedOrderId],
  );
  const rows = await holdRows(stack.pool, 'trades', 5_001, 6_000);

  const workerPid = await startWorkerProcess(stack.client);
  const taskQueue = stack.config.temporal.taskQueue;
  const sync = await stack.client.workflow.start(cbbSyncWorkflowType, {
    taskQueue,
    ...cbbSyncStartOptions(orderId, 'api'),
  });
  const confirmation = await stack.client.workflow.start(cbbSyncWorkflowType, {
    taskQueue,
    ...cbbSyncStartOptions(confirmedOrderId, 'api'),
  });
  const run = await startRun({ client: stack.client, pool: stack.pool, taskQueue }, 'trades-risk-score', {
    batchSize: 2000,
    dryRun: false,
    partitions: 1,
  });
  await rows.reached("the worker's migration batch");
  await waitUntil('the contact upsert to wait on its advisory lock', () => blocksSomeone(lockHolder));
  await waitUntil("the confirmation's claim to wait on the test's", () => blocksSomeone(claimHolder));

  const postmaster = killProcess(s, 'postgres');
  expect(postmaster).toBeDefined();
  await waitUntil('the postmaster to be gone', () => !isAlive(postmaster!));
  // The gate's connection died with the server: give it back (its ROLLBACK fails), or the pool never ends.
  await rows.release().catch(() => undefined);
  await startPart(s, 'postgres');

  const migration = stack.client.workflow.getHandle(run.id);
  await waitUntil(
    'the workflows to finish after Postgres returns',
    async () =>
      (await Promise.all([sync, confirmation, migration].map((h) => h.describe()))).every(
        (d) => d.status.name !== 'RUNNING',
      ),
    {
      timeoutMs: 180_000,
      intervalMs: 250,
      // A lost connection's unhandled 'error' event kills the worker: then nothing would ever finish them.
      hopeless: () => (runningPid(s, 'worker') === workerPid ? undefined : `the worker process ${workerPid} died`),
    },
  );
  const synced = await sync.result();
  expect(synced).toMatchObject({ status: 'confirmed' });
  expect(await confirmation.result()).toMatchObject({ status: 'confirmed', confirmation: 'sent' });
  const migrated = await migration.result();
  expect(migrated).toMatchObject({ state: 'completed', rowsDone: 10_000, verify: { ok: true } });
  // The same process all along: no 'error' event of a lost connection took it down.
  expect(runningPid(s, 'worker')).toBe(workerPid);
  await Promise.all([lockHolder.end(), claimHolder.end()].map((p) => p.catch(() => undefined)));
}, 240_000);
