import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { rolloutStartOptions, status } from '../../lib/rollout/contract';
import { rolloutSpec } from '../../lib/rollout/spec';
import { isAlive } from '../../scripts/stack/proc';
import { readFlag } from '../../store/rollout/flags';
import { projectRoot } from '../helpers/paths';
import { rolloutPorts } from '../helpers/rollout-services';
import { connectStack, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

/**
 * A worker process is SIGKILLed during a 60 s pause and started again: the rollout goes on
 * when the pause's durable timer fires, at the time it was due, not 60 s after the restart.
 */
let stack: StackHandles;
const children = new Set<ChildProcess>();
beforeAll(async () => {
  stack = await connectStack();
});
afterAll(async () => {
  for (const child of children) killGroup(child, 'SIGKILL');
  await stack?.close();
});

const metricsPort = rolloutPorts.webhook + 10;

let workers = 0;
/** The worker in a process group of its own: tsx may run it in a child process, and the kill must reach it. */
function startWorker(taskQueue: string): ChildProcess & { identity: string } {
  const identity = `rollout-crash-worker-${++workers}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(projectRoot, 'test', 'fixtures', 'rollout-worker.ts')],
    {
      cwd: projectRoot,
      detached: true,
      env: {
        ...process.env,
        TASK_QUEUE: taskQueue,
        WORKER_IDENTITY: identity,
        WORKER_METRICS_PORT: String(metricsPort),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  return Object.assign(child, { identity });
}

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    /* gone already */
  }
};

/** Whether the worker with this identity polls the task queue. */
async function polling(taskQueue: string, identity: string): Promise<boolean> {
  const res = await stack.client.workflowService.describeTaskQueue({
    namespace: stack.config.temporal.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (res.pollers ?? []).some((p) => p.identity === identity);
}

const transitionAt = async (rolloutId: string, to: string, weight: number): Promise<number | undefined> => {
  const { rows } = await stack.pool.query(
    `SELECT extract(epoch FROM at) * 1000 AS at FROM rollout_events
     WHERE rollout_id = $1 AND kind = 'transition' AND to_phase = $2 AND weight = $3 ORDER BY seq LIMIT 1`,
    [rolloutId, to, weight],
  );
  return rows[0] ? Number(rows[0].at) : undefined;
};

test('a worker SIGKILLed during a 60 s pause: after a restart the rollout resumes when the pause was due', async () => {
  const taskQueue = uniqueTaskQueue('rollout-crash');
  const target = `crash-${Date.now().toString(36)}`;
  const spec = rolloutSpec.parse({
    target,
    traffic: { controller: 'flag' },
    steps: [{ setWeight: 10 }, { pause: { duration: '60s' } }, { setWeight: 40 }],
    templates: [],
    rollbackWindow: '0s',
  });
  let worker = startWorker(taskQueue);
  const handle = await stack.client.workflow.start('canaryRollout', {
    taskQueue,
    ...rolloutStartOptions(spec, 'test'),
  });
  const rolloutId = handle.firstExecutionRunId;

  let pausedAt: number | undefined;
  await waitUntil(
    'the 60 s pause to have begun',
    async () => (pausedAt = await transitionAt(rolloutId, 'paused', 10)) !== undefined,
    { timeoutMs: 90_000 },
  );
  const paused = await handle.query(status);
  expect(paused).toMatchObject({ phase: 'paused', weight: 10, pause: { kind: 'timed', duration: '60s' } });
  expect(Date.parse(paused.waitingUntil!)).toBe(pausedAt! + 60_000);
  expect((await readFlag(stack.redis, target))?.weight).toBe(10);

  // Kill it well into the pause, so that "resumed on time" and "restarted the pause" differ by 10 s or more.
  await waitUntil('10 s of the pause to have passed', () => Date.now() >= pausedAt! + 10_000, { timeoutMs: 30_000 });
  expect(await polling(taskQueue, worker.identity)).toBe(true);
  const group = processesOf(worker.pid!);
  killGroup(worker, 'SIGKILL');
  await waitUntil('every process of the killed worker to be gone', () => group.every((pid) => !isAlive(pid)), {
    timeoutMs: 10_000,
  });
  const killedAt = Date.now();
  worker = startWorker(taskQueue);

  let resumedAt: number | undefined;
  await waitUntil(
    'the flag to move to 40 % after the pause',
    async () => {
      if ((await readFlag(stack.redis, target))?.weight !== 40) return false;
      resumedAt = Date.now();
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 20 },
  );
  const due = pausedAt! + 60_000;
  expect(killedAt).toBeLessThan(due - 40_000);
  // Within 5 s of when it was due, by the wall clock and by the workflow's own record: a loaded machine may take a
  // few seconds over the restarted worker's first tasks, while a restarted pause would end 10 s late or more.
  expect(Math.abs(resumedAt! - due)).toBeLessThanOrEqual(5000);
  let recorded: number | undefined;
  await waitUntil(
    'the step to 40 % to be recorded',
    async () => (recorded = await transitionAt(rolloutId, 'progressing', 40)) !== undefined,
  );
  expect(Math.abs(recorded! - due)).toBeLessThanOrEqual(5000);

  expect(await handle.result()).toMatchObject({ phase: 'promoted', weight: 100 });
  // The restarted worker's /metrics carries the target's weight.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(metrics).toMatch(new RegExp(`rollout_weight\\{[^}]*target="${target}"[^}]*\\} 100`));
  killGroup(worker, 'SIGTERM');
}, 240_000);

/** The pids in a process group (the worker and the child tsx runs it in). */
function processesOf(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid;
      } catch {
        return false;
      }
    })
    .map(Number);
}
