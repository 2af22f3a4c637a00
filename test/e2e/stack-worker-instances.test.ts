import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { appEnv, stackSettings, startAppPart } from '../../scripts/stack/parts';
import { runningPid, stopProcess } from '../../scripts/stack/proc';
import { stackProcesses } from '../../scripts/stack/stack';
import { pauseSweepSchedule, stopAppProcesses } from '../helpers/app-parts';

/**
 * A second worker process on the same task queue, as benchmarks and tests scale out:
 * its own pid file, log and metrics port, polling beside the first, found and stopped
 * by the stack like the first.
 */
const s = stackSettings('test');
const taskQueue = appEnv(s).TEMPORAL_TASK_QUEUE ?? 'orchestrator';
let connection: Connection;

beforeAll(async () => {
  connection = await Connection.connect({ address: appEnv(s).TEMPORAL_ADDRESS });
  await pauseSweepSchedule(new Client({ connection }));
}, 60_000);
afterAll(async () => {
  await stopProcess(s, 'worker-2', { graceMs: 60_000 });
  await stopAppProcesses('worker');
  await connection?.close();
});

async function pollerPids(): Promise<Set<number>> {
  const res = await connection.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return new Set((res.pollers ?? []).map((p) => Number(p.identity?.split('@')[0])));
}

test('worker 2 polls the same task queue beside worker 1, with its own metrics port, and stops alone', async () => {
  const first = await startAppPart(s, 'worker');
  const second = await startAppPart(s, 'worker', {}, { instance: 2 });
  expect(second).not.toBe(first);
  expect(runningPid(s, 'worker-2')).toBe(second);

  const pollers = await pollerPids();
  expect(pollers.has(first)).toBe(true);
  expect(pollers.has(second)).toBe(true);
  for (const port of [s.ports.workerMetrics, s.ports.workerMetrics + 2]) {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.ok).toBe(true);
  }
  expect(stackProcesses(s).map((p) => p.pid)).toEqual(expect.arrayContaining([first, second]));

  // Starting it again finds the one running rather than a third process.
  expect(await startAppPart(s, 'worker', {}, { instance: 2 })).toBe(second);

  expect(await stopProcess(s, 'worker-2', { graceMs: 60_000 })).toBe(true);
  expect(runningPid(s, 'worker-2')).toBeUndefined();
  expect(runningPid(s, 'worker')).toBe(first);
}, 240_000);
