import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, Worker, makeTelemetryFilterString, type WorkerOptions } from '@temporalio/worker';
import { testBundlePath, testServerPath } from './paths';
import { testSdkLogger } from './sdk-logger';

let runtimeInstalled = false;

/**
 * Installs the tests' Runtime once per file: the SDK's own lines and core's (forwarded,
 * so one filter sees both) at WARN and above, without the known noise (see sdk-logger.ts).
 */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: testSdkLogger(),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
  });
}

/** The time-skipping test server from the project's venv (never downloaded). */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath } },
  });
}

/** Adds keyword search attributes the workflows set: the time-skipping server cannot list them, but it can add them. */
export async function addKeywordAttributes(env: TestWorkflowEnvironment, keys: { name: string }[]): Promise<void> {
  const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(keys.map((k) => [k.name, KEYWORD])),
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

/**
 * The file's time-skipping server, started before its tests and torn down after them:
 * call it at the top level of a test file, and the returned function inside its tests.
 */
export function timeSkippingServer(): () => TestWorkflowEnvironment {
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(() => env?.teardown());
  return () => {
    if (!env) throw new Error('no time-skipping server: call timeSkippingServer() at the top level of the test file');
    return env;
  };
}
