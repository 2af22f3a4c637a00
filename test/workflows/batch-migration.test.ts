import type { BatchInput } from '../../activities/batch-migration';
import { migrationProgress, setMigrationBatchSize, setMigrationRate } from '../../lib/batch-migration/contract';
import { batchMigration } from '../../workflows';
import { fakeDb, gate } from '../helpers/batch-migration-fake';
import { testWorker, timeSkippingServer, uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/** The batch loop on its own: order, continue-as-new, throttling and the adaptive batch size. */
const env = timeSkippingServer();

const covered = (applied: BatchInput[]) =>
  applied.reduce((n, b, i) => n + (i === applied.length - 1 ? 0 : b.batchSize), 0);

test('runs every batch once, in key order, then verifies and completes', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const db = fakeDb(1050);
  const worker = await testWorker(env(), { taskQueue, activities: db.activities });
  const result = await worker.runUntil(
    env().client.workflow.execute(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-1',
      args: [{ migration: 't', batchSize: 100 }],
    }),
  );
  expect(result).toMatchObject({ state: 'completed', rowsDone: 1050, verify: { ok: true } });
  expect(db.applied.map((b) => b.seq)).toEqual([...Array(11).keys()]);
  expect(db.applied.map((b) => b.after)).toEqual([
    undefined,
    ...Array.from({ length: 10 }, (_, i) => String((i + 1) * 100)),
  ]);
  expect(db.states).toEqual(['running', 'verifying', 'completed']);
});

test('continues as new before the history grows, keeping cursor and counts', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const db = fakeDb(1000);
  const worker = await testWorker(env(), { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env().client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-2',
      args: [{ migration: 't', batchSize: 100, batchesPerRun: 3 }],
    });
    const result = await handle.result();
    expect(result.rowsDone).toBe(1000);
    const progress = await handle.query(migrationProgress);
    expect(progress.continuedRuns).toBe(3);
    expect(progress.cursor).toBe('1000');
    const { runId } = await handle.describe();
    expect(runId).not.toBe(handle.firstExecutionRunId);
  });
  expect(db.applied.map((b) => b.seq)).toEqual([...Array(11).keys()]);
  expect(covered(db.applied)).toBe(1000);
});

test('throttles on database load: halves the batch and backs off, within the floor', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const busy = (seq: number) => ({ activeConnections: seq < 3 ? 100 : 0, lockWaits: 0 });
  const db = fakeDb(2000, { load: busy });
  const worker = await testWorker(env(), { taskQueue, activities: db.activities });
  const started = await env().currentTimeMs();
  await worker.runUntil(async () => {
    const handle = await env().client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-5',
      args: [{ migration: 't', batchSize: 400 }],
    });
    await handle.result();
    expect((await handle.query(migrationProgress)).throttledMs).toBe(1000 + 2000 + 4000);
  });
  expect(db.applied.slice(0, 4).map((b) => b.batchSize)).toEqual([400, 200, 100, 50]);
  expect((await env().currentTimeMs()) - started).toBeGreaterThanOrEqual(7000);
});

test('adapts the batch size toward the target time; setBatchSize and setRate take over', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const fourth = gate();
  const db = fakeDb(100_000, { ms: 100, gate: (b) => (b.seq === 3 ? fourth.wait() : undefined) });
  const worker = await testWorker(env(), { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env().client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-6',
      args: [{ migration: 't', batchSize: 100, targetBatchMs: 400, maxRowsPerSecond: 1_000_000 }],
    });
    await waitUntil('the fourth batch to start', () => fourth.reached);
    const settings = await handle.executeUpdate(setMigrationBatchSize, { args: [5000] });
    expect(settings).toEqual({ batchSize: 5000, maxRowsPerSecond: 1_000_000, adaptive: false });
    await expect(handle.executeUpdate(setMigrationBatchSize, { args: [0] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/batchSize must be a whole number from 10 to 100000, got 0/) },
    });
    expect(await handle.executeUpdate(setMigrationRate, { args: [null] })).toMatchObject({ maxRowsPerSecond: null });
    fourth.open();
    expect((await handle.result()).rowsDone).toBe(100_000);
  });
  const sizes = db.applied.map((b) => b.batchSize);
  // 100 ms batches against a 400 ms target: doubling, until the update fixed the size.
  expect(sizes.slice(0, 4)).toEqual([100, 200, 400, 800]);
  expect(sizes.slice(4).every((n) => n === 5000)).toBe(true);
});
