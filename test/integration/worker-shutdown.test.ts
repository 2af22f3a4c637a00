import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { selfCheck } from '../../workflows/self-check';
import { projectRoot } from '../helpers/paths';
import { freePort } from '../helpers/ports';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/** SIGTERM lets a running activity finish (WORKER_SHUTDOWN_GRACE) before the worker exits. */
let stack: StackHandles;
beforeAll(async () => {
  stack = await connectStack();
});
let child: ChildProcess | undefined;
afterAll(async () => {
  // A test that failed before its SIGTERM leaves no worker behind.
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await stack?.close();
});

function exitOf(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

test('a worker stopped with SIGTERM while an activity runs lets it finish, then exits cleanly', async () => {
  const taskQueue = uniqueTaskQueue('slow');
  child = spawn(
    process.execPath,
    [
      join(projectRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      join(projectRoot, 'test', 'fixtures', 'slow-worker.ts'),
    ],
    {
      env: {
        ...process.env,
        TASK_QUEUE: taskQueue,
        WORKER_SHUTDOWN_GRACE: '20s',
        // Not a port next to the stack's: those belong to workers other files start (the HMM worker's was met).
        WORKER_METRICS_PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = exitOf(child);
  const workflowId = `self-check-shutdown-${Date.now()}`;
  const handle = await stack.client.workflow.start(selfCheck, { taskQueue, workflowId, args: [{ wait: '1s' }] });

  // The worker runs from source through tsx and bundles its workflows as it starts: beside a
  // CPU hog that alone can take a minute, so the bound is wide; a worker that died fails at once.
  await waitUntil(
    'the gated activity to start',
    async () => {
      const d = await handle.describe();
      return d.raw.pendingActivities?.some((a) => a.state === 2 /* STARTED */) ?? false;
    },
    {
      timeoutMs: 180_000,
      hopeless: () =>
        child && (child.exitCode !== null || child.signalCode !== null)
          ? `the worker exited (${child.exitCode ?? child.signalCode})`
          : undefined,
    },
  );
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  // The activity writes only after the worker was told to stop: the row shows the worker let it finish.
  const { rows } = await stack.pool.query('SELECT step FROM self_check_steps WHERE workflow_id = $1', [workflowId]);
  expect(rows.map((r) => r.step)).toEqual(['started']);

  // The workflow goes on with the next worker that polls its queue.
  const worker = await stackWorker(stack, { taskQueue });
  await worker.runUntil(handle.result());
  const after = await stack.pool.query('SELECT step FROM self_check_steps WHERE workflow_id = $1 ORDER BY written_at', [
    workflowId,
  ]);
  expect(after.rows.map((r) => r.step)).toEqual(['started', 'finished']);
}, 300_000);
