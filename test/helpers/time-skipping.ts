import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker, type WorkerOptions } from '@temporalio/worker';
import { testBundlePath, testServerPath } from './paths';

let runtimeInstalled = false;

/** Keeps the SDK quiet in tests unless something is wrong. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // Retried activity failures log at WARN by design; the tests assert on them instead.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

/** The time-skipping test server from the project's venv (never downloaded). */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath } },
  });
}

let taskQueueSeq = 0;
export const uniqueTaskQueue = (prefix: string) => `${prefix}-${process.pid}-${++taskQueueSeq}`;

/** A worker on the bundled workflow code (bundled once per test run by test/setup/bundle.ts). */
export function testWorker(
  env: TestWorkflowEnvironment,
  opts: Pick<WorkerOptions, 'taskQueue' | 'activities'> & Partial<WorkerOptions>,
): Promise<Worker> {
  return Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    workflowBundle: { codePath: testBundlePath },
    ...opts,
  });
}
