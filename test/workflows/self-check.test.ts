import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { selfCheckStep } from '../../lib/self-check/contract';
import { selfCheck } from '../../workflows/self-check';
import { timeSkippingEnv, testWorker, uniqueTaskQueue } from '../helpers/time-skipping';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(() => env?.teardown());

test('writes a step, waits on the durable timer, writes again', async () => {
  const taskQueue = uniqueTaskQueue('self-check');
  const writes: { step: string; at: number; correlationId?: string }[] = [];
  const worker = await testWorker(env, {
    taskQueue,
    activities: {
      async recordSelfCheckStep(_workflowId: string, step: string, correlationId?: string) {
        writes.push({ step, at: await env.currentTimeMs(), correlationId });
        return new Date().toISOString();
      },
    },
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(selfCheck, {
      taskQueue,
      workflowId: 'self-check-test-1',
      args: [{ wait: '2h' }],
      memo: { correlationId: 'corr-1' },
    });
    await handle.result();
    expect(await handle.query(selfCheckStep)).toBe('finished');
  });
  expect(writes.map((w) => w.step)).toEqual(['started', 'finished']);
  // Two hours of workflow time passed on the timer (skipped, not waited).
  expect(writes[1].at - writes[0].at).toBeGreaterThanOrEqual(2 * 3600 * 1000);
  expect(writes.every((w) => w.correlationId === 'corr-1')).toBe(true);
});

test('a failing write is retried until it succeeds', async () => {
  const taskQueue = uniqueTaskQueue('self-check');
  let attempts = 0;
  const worker = await testWorker(env, {
    taskQueue,
    activities: {
      async recordSelfCheckStep(_id: string, step: string) {
        if (step === 'started' && ++attempts < 3) throw new Error('connection reset');
        return new Date().toISOString();
      },
    },
  });
  const result = await worker.runUntil(
    env.client.workflow.execute(selfCheck, { taskQueue, workflowId: 'self-check-test-2', args: [{ wait: '1s' }] }),
  );
  expect(attempts).toBe(3);
  expect(result.finishedAt).toEqual(expect.any(String));
});
