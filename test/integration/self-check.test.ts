import { MockActivityEnvironment } from '@temporalio/testing';
import { createSelfCheckActivities } from '../../activities/self-check';
import { selfCheck } from '../../workflows/self-check';
import { recordHistory } from '../helpers/histories';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

let stack: StackHandles;
beforeAll(async () => {
  stack = await connectStack();
});
afterAll(() => stack?.close());

test('self-check writes both steps to Postgres through the real dev server', async () => {
  const taskQueue = uniqueTaskQueue('it-self-check');
  const workflowId = `self-check-it-${Date.now()}`;
  const worker = await stackWorker(stack, { taskQueue });
  const handle = await stack.client.workflow.start(selfCheck, {
    taskQueue,
    workflowId,
    args: [{ wait: '1s' }],
    memo: { correlationId: 'it-corr' },
  });
  const result = await worker.runUntil(handle.result());
  const { rows } = await stack.pool.query(
    'SELECT step, correlation_id, written_at FROM self_check_steps WHERE workflow_id = $1 ORDER BY written_at',
    [workflowId],
  );
  expect(rows.map((r) => r.step)).toEqual(['started', 'finished']);
  expect(rows.every((r) => r.correlation_id === 'it-corr')).toBe(true);
  expect(new Date(result.finishedAt).getTime() - new Date(result.startedAt).getTime()).toBeGreaterThanOrEqual(1000);
  await recordHistory(handle, 'self-check');
});

test('the write is idempotent: a second run of the same step keeps the first time', async () => {
  const { recordSelfCheckStep } = createSelfCheckActivities(stack.deps);
  const activityEnv = new MockActivityEnvironment();
  const first = await activityEnv.run(recordSelfCheckStep, 'self-check-idempotent', 'started');
  const second = await activityEnv.run(recordSelfCheckStep, 'self-check-idempotent', 'started');
  expect(second).toBe(first);
  const { rows } = await stack.pool.query(
    "SELECT count(*)::int AS n FROM self_check_steps WHERE workflow_id = 'self-check-idempotent'",
  );
  expect(rows[0].n).toBe(1);
});
