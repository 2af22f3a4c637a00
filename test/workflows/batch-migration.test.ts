import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BatchInput, BatchResult } from '../../activities/batch-migration';
import type { RunPatch } from '../../store/batch-migration/runs';
import {
  cancelMigration,
  migrationProgress,
  pauseMigration,
  resumeMigration,
  setMigrationBatchSize,
  setMigrationRate,
} from '../../lib/batch-migration/contract';
import { batchMigration } from '../../workflows';
import { timeSkippingEnv, testWorker, uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(() => env?.teardown());

/** A pretend table of `total` rows keyed 1..total, and a record of what the workflow asked for. */
function fakeDb(
  total: number,
  opts: {
    ms?: number;
    load?: (seq: number) => BatchResult['load'];
    /** Holds a batch (or a settings record) until the promise it returns resolves. */
    gate?: (input: BatchInput) => Promise<void> | undefined;
    recordGate?: (patch: RunPatch) => Promise<void> | undefined;
  } = {},
) {
  const applied: BatchInput[] = [];
  const states: string[] = [];
  const activities = {
    async startMigrationRun() {
      return { estimatedTotal: total };
    },
    async recordMigrationRun(_id: string, patch: RunPatch) {
      await opts.recordGate?.(patch);
      if (patch.state) states.push(patch.state);
    },
    async applyMigrationBatch(input: BatchInput): Promise<BatchResult> {
      await opts.gate?.(input);
      applied.push(input);
      const from = Number(input.after ?? 0);
      const rows = Math.max(0, Math.min(input.batchSize, total - from));
      return {
        rows,
        changed: rows,
        lastKey: rows ? String(from + rows) : input.after,
        done: rows < input.batchSize,
        ms: opts.ms ?? 100,
        replayed: false,
        load: opts.load?.(input.seq) ?? { activeConnections: 0, lockWaits: 0 },
      };
    },
    async verifyDataMigration() {
      return { ok: true, invalidRows: 0, sampleKeys: [] };
    },
  };
  return { applied, states, activities };
}

/** A gate the test opens: `wait()` blocks until `open()`; `reached` says someone is waiting. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let reached = false;
  return {
    wait: () => {
      reached = true;
      return opened;
    },
    open: () => open(),
    get reached() {
      return reached;
    },
  };
}

const covered = (applied: BatchInput[]) =>
  applied.reduce((n, b, i) => n + (i === applied.length - 1 ? 0 : b.batchSize), 0);

test('runs every batch once, in key order, then verifies and completes', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const db = fakeDb(1050);
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  const result = await worker.runUntil(
    env.client.workflow.execute(batchMigration, {
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
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
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

test('pause holds at the batch boundary, resume goes on, progress reports it', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const first = gate();
  const db = fakeDb(500, { gate: (b) => (b.seq === 0 ? first.wait() : undefined) });
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
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
    await env.sleep('1h');
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
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
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
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
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

test('throttles on database load: halves the batch and backs off, within the floor', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const busy = (seq: number) => ({ activeConnections: seq < 3 ? 100 : 0, lockWaits: 0 });
  const db = fakeDb(2000, { load: busy });
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  const started = await env.currentTimeMs();
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-5',
      args: [{ migration: 't', batchSize: 400 }],
    });
    await handle.result();
    expect((await handle.query(migrationProgress)).throttledMs).toBe(1000 + 2000 + 4000);
  });
  expect(db.applied.slice(0, 4).map((b) => b.batchSize)).toEqual([400, 200, 100, 50]);
  expect((await env.currentTimeMs()) - started).toBeGreaterThanOrEqual(7000);
});

test('adapts the batch size toward the target time; setBatchSize and setRate take over', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const fourth = gate();
  const db = fakeDb(100_000, { ms: 100, gate: (b) => (b.seq === 3 ? fourth.wait() : undefined) });
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
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

test('continue-as-new carries the batch size, adaptive mode and rate set before it', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const second = gate();
  const db = fakeDb(2000, { ms: 100, gate: (b) => (b.seq === 1 ? second.wait() : undefined) });
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
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
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
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
