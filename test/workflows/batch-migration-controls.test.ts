import {
  cancelMigration,
  migrationProgress,
  pauseMigration,
  resumeMigration,
  setMigrationBatchSize,
  setMigrationRate,
} from '../../lib/batch-migration/contract';
import { batchMigration } from '../../workflows';
import { fakeDb, gate } from '../helpers/batch-migration-fake';
import { testWorker, timeSkippingServer, uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/** Pause, resume, cancel and the settings updates, each driven by a gate on the batch the test waits for. */
const env = timeSkippingServer();

test('pause holds at the batch boundary, resume goes on, progress reports it', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const first = gate();
  const db = fakeDb(500, { gate: (b) => (b.seq === 0 ? first.wait() : undefined) });
  const worker = await testWorker(env(), { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env().client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-3',
      args: [{ migration: 't', batchSize: 100 }],
    });
    await waitUntil('the first batch to start', () => first.reached);
    await handle.signal(pauseMigration);
    first.open();
    await waitUntil('the run to be paused', async () => (await handle.query(migrationProgress)).state === 'paused');
    expect(await handle.query(migrationProgress)).toMatchObject({
      state: 'paused',
      rowsDone: 100,
      pauseRequested: true,
      estimatedTotal: 500,
    });
    // An hour of workflow time while paused runs no batch.
    await env().sleep('1h');
    expect(db.applied).toHaveLength(1);
    await handle.signal(resumeMigration);
    expect(await handle.result()).toMatchObject({ state: 'completed', rowsDone: 500 });
  });
  expect(db.states).toEqual(['running', 'paused', 'running', 'verifying', 'completed']);
});

test('a cancel sent while the run is paused ends it as cancelled without another batch', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const first = gate();
  const db = fakeDb(10_000, { gate: (b) => (b.seq === 0 ? first.wait() : undefined) });
  const worker = await testWorker(env(), { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env().client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-4',
      args: [{ migration: 't', batchSize: 100 }],
    });
    await waitUntil('the first batch to start', () => first.reached);
    await handle.signal(pauseMigration);
    first.open();
    await waitUntil('the run to be paused', async () => (await handle.query(migrationProgress)).state === 'paused');
    await handle.signal(cancelMigration);
    const result = await handle.result();
    expect(result).toMatchObject({ state: 'cancelled', rowsDone: 100 });
  });
  expect(db.applied).toHaveLength(1);
  expect(db.states).toEqual(['running', 'paused', 'cancelled']);
});

test('a cancel sent while a batch runs stops the run at that batch boundary', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const third = gate();
  const db = fakeDb(10_000, { gate: (b) => (b.seq === 2 ? third.wait() : undefined) });
  const worker = await testWorker(env(), { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env().client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-4b',
      args: [{ migration: 't', batchSize: 100 }],
    });
    await waitUntil('the third batch to start', () => third.reached);
    await handle.signal(cancelMigration);
    third.open();
    expect(await handle.result()).toMatchObject({ state: 'cancelled', rowsDone: 300 });
  });
  expect(db.applied.map((b) => b.seq)).toEqual([0, 1, 2]);
  expect(db.states).toEqual(['running', 'cancelled']);
});

test('continue-as-new carries the batch size, adaptive mode and rate set before it', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const second = gate();
  const db = fakeDb(2000, { ms: 100, gate: (b) => (b.seq === 1 ? second.wait() : undefined) });
  const worker = await testWorker(env(), { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env().client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-7',
      args: [{ migration: 't', batchSize: 100, targetBatchMs: 400, maxRowsPerSecond: 1_000_000, batchesPerRun: 2 }],
    });
    await waitUntil('the second batch to start', () => second.reached);
    expect(await handle.query(migrationProgress)).toMatchObject({ adaptive: true, continuedRuns: 0 });
    await handle.executeUpdate(setMigrationBatchSize, { args: [150] });
    await handle.executeUpdate(setMigrationRate, { args: [2_000_000] });
    second.open();
    expect((await handle.result()).rowsDone).toBe(2000);
    // The last run of the chain answers with what every continue-as-new carried.
    expect(await handle.query(migrationProgress)).toMatchObject({
      batchSize: 150,
      adaptive: false,
      maxRowsPerSecond: 2_000_000,
      continuedRuns: 6,
    });
  });
  // The size the update fixed held in every later run: adaptation stayed off.
  expect(db.applied.slice(2).every((b) => b.batchSize === 150)).toBe(true);
});

test('a pause that arrives while the run waits to continue as new is carried into the next run, which starts paused', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const second = gate();
  const record = gate();
  const db = fakeDb(1000, {
    gate: (b) => (b.seq === 1 ? second.wait() : undefined),
    // The settings update's record is held, so its handler is still running when the run is due to continue.
    recordGate: (patch) => (patch.batchSize === 200 ? record.wait() : undefined),
  });
  const worker = await testWorker(env(), { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env().client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-8',
      args: [{ migration: 't', batchSize: 100, batchesPerRun: 2 }],
    });
    await waitUntil('the second batch to start', () => second.reached);
    const update = await handle.startUpdate(setMigrationBatchSize, { args: [200], waitForStage: 'ACCEPTED' });
    await waitUntil('the update to record its settings', () => record.reached);
    second.open();
    // Two batches done: the run now waits for the update's handler before it continues as new.
    await waitUntil(
      'the second batch to be counted',
      async () => (await handle.query(migrationProgress)).batches === 2,
    );
    await handle.signal(pauseMigration);
    record.open();
    expect(await update.result()).toMatchObject({ batchSize: 200 });
    await waitUntil('the next run to be paused', async () => {
      const p = await handle.query(migrationProgress);
      return p.continuedRuns === 1 && p.state === 'paused';
    });
    expect(await handle.query(migrationProgress)).toMatchObject({
      pauseRequested: true,
      batchSize: 200,
      rowsDone: 200,
    });
    expect(db.applied).toHaveLength(2);
    await handle.signal(resumeMigration);
    expect(await handle.result()).toMatchObject({ state: 'completed', rowsDone: 1000 });
  });
  expect(db.states).toEqual(['running', 'paused', 'running', 'verifying', 'completed']);
});

test('a pause sent with the start, before the run has begun, holds it before its first batch', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const db = fakeDb(500);
  const worker = await testWorker(env(), { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    // Delivered as the handler is set, before any other line of the run has run.
    const handle = await env().client.workflow.signalWithStart(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-9',
      args: [{ migration: 't', batchSize: 100 }],
      signal: pauseMigration,
    });
    await waitUntil('the run to be paused', async () => (await handle.query(migrationProgress)).state === 'paused');
    expect(db.applied).toHaveLength(0);
    await handle.signal(resumeMigration);
    expect(await handle.result()).toMatchObject({ state: 'completed', rowsDone: 500 });
  });
});
