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

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(() => env?.teardown());

/** A pretend table of `total` rows keyed 1..total, and a record of what the workflow asked for. */
function fakeDb(
  total: number,
  opts: { ms?: number; load?: (seq: number) => BatchResult['load']; gate?: () => Promise<void> } = {},
) {
  const applied: BatchInput[] = [];
  const states: string[] = [];
  const activities = {
    async startMigrationRun() {
      return { estimatedTotal: total };
    },
    async recordMigrationRun(_id: string, patch: RunPatch) {
      if (patch.state) states.push(patch.state);
    },
    async applyMigrationBatch(input: BatchInput): Promise<BatchResult> {
      await opts.gate?.();
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
  let release!: () => void;
  let gated = true;
  const db = fakeDb(500, { gate: () => (gated ? new Promise<void>((r) => (release = r)) : Promise.resolve()) });
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-3',
      args: [{ migration: 't', batchSize: 100 }],
    });
    while (!release) await new Promise((r) => setTimeout(r, 20));
    await handle.signal(pauseMigration);
    gated = false;
    release();
    let progress = await handle.query(migrationProgress);
    for (let i = 0; i < 100 && progress.state !== 'paused'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      progress = await handle.query(migrationProgress);
    }
    expect(progress).toMatchObject({ state: 'paused', rowsDone: 100, pauseRequested: true, estimatedTotal: 500 });
    await env.sleep('1h');
    expect(db.applied).toHaveLength(1);
    await handle.signal(resumeMigration);
    expect(await handle.result()).toMatchObject({ state: 'completed', rowsDone: 500 });
  });
  expect(db.states).toEqual(['running', 'paused', 'running', 'verifying', 'completed']);
});

test('cancel stops at the next batch boundary and ends as cancelled, even while paused', async () => {
  const taskQueue = uniqueTaskQueue('migration');
  const db = fakeDb(10_000, { ms: 100 });
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-4',
      args: [{ migration: 't', batchSize: 100, maxRowsPerSecond: 100 }],
    });
    await handle.signal(pauseMigration);
    await handle.signal(cancelMigration);
    const result = await handle.result();
    expect(result.state).toBe('cancelled');
    expect(result.rowsDone).toBeLessThan(10_000);
  });
  expect(db.states.at(-1)).toBe('cancelled');
  expect(db.states).not.toContain('verifying');
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
  const db = fakeDb(100_000, { ms: 100 });
  const worker = await testWorker(env, { taskQueue, activities: db.activities });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchMigration, {
      taskQueue,
      workflowId: 'migration-t-6',
      args: [{ migration: 't', batchSize: 100, targetBatchMs: 400, maxRowsPerSecond: 50 }],
    });
    while (db.applied.length < 3) await new Promise((r) => setTimeout(r, 20));
    const settings = await handle.executeUpdate(setMigrationBatchSize, { args: [5000] });
    expect(settings).toEqual({ batchSize: 5000, maxRowsPerSecond: 50, adaptive: false });
    await expect(handle.executeUpdate(setMigrationBatchSize, { args: [0] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/batchSize must be a whole number from 10 to 100000, got 0/) },
    });
    expect(await handle.executeUpdate(setMigrationRate, { args: [null] })).toMatchObject({ maxRowsPerSecond: null });
    expect((await handle.result()).rowsDone).toBe(100_000);
  });
  const sizes = db.applied.map((b) => b.batchSize);
  expect(sizes.slice(0, 3)).toEqual([100, 200, 400]);
  expect(sizes.at(-1)).toBe(5000);
});
