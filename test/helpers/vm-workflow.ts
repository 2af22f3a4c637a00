import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { operationUpdates, progress, vmWorkflowId, type VmLifecycleInput } from '../../lib/vm/contract';
import type { RunStrategy } from '../../lib/vm/validate';
import { vmLifecycle } from '../../workflows';
import { activityInterceptors } from '../../workers/interceptors';
import { testWorker, uniqueTaskQueue } from './time-skipping';
import { fakeHypervisor, fakeMachineStore, fakeVmActivities, type FakeHypervisor, type MachineRow } from './vm-fake';
import { waitUntil } from './wait';

/**
 * vmLifecycle on the time-skipping server with the real activities over an in-memory
 * hypervisor: a worker of its own per test, machines with ids no other file uses.
 */

export interface VmTestBed {
  env: TestWorkflowEnvironment;
  hv: FakeHypervisor;
  store: ReturnType<typeof fakeMachineStore>;
  worker: Worker;
  taskQueue: string;
}

/** `extra` adds or replaces activities (a Schedule's answers for the reconciler, say). */
export async function vmTestBed(
  env: TestWorkflowEnvironment,
  machines: MachineRow[] = [],
  extra: object = {},
): Promise<VmTestBed> {
  const hv = fakeHypervisor();
  const store = fakeMachineStore(machines);
  const taskQueue = uniqueTaskQueue('vm');
  const worker = await testWorker(env, {
    taskQueue,
    activities: { ...fakeVmActivities(hv, store), ...extra },
    interceptors: { activity: [activityInterceptors] },
  });
  return { env, hv, store, worker, taskQueue };
}

// Files share the test server; a random part keeps their workflow ids apart.
const file = Math.random().toString(36).slice(2, 7);
let seq = 0;

export function machineInput(
  runStrategy: RunStrategy = 'Manual',
  extra: Partial<VmLifecycleInput> = {},
): VmLifecycleInput {
  seq++;
  return {
    spec: {
      machineId: `${process.pid}${file}x${seq}`,
      name: `web-${seq}`,
      runStrategy,
      template: { vcpus: 1, memoryMiB: 256, os: { arch: 'x86_64' } },
    },
    uuid: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    ...extra,
  };
}

export const startMachine = (t: VmTestBed, i: VmLifecycleInput) =>
  t.env.client.workflow.start(vmLifecycle, {
    taskQueue: t.taskQueue,
    workflowId: vmWorkflowId(i.spec.machineId),
    args: [i],
  });

export async function untilReady(handle: WorkflowHandle): Promise<void> {
  await waitUntil('the machine provisioned', async () => (await handle.query(progress)).phase === 'ready');
}

/**
 * Sends an operation and waits for its result. On a loaded machine the time-skipping server
 * has answered "update … not found" to an update it had just been given (once in three
 * runs beside a CPU hog, and three times in a row in one run); sent again under the same id,
 * after a growing pause, it still runs at most once.
 */
export async function update<K extends keyof typeof operationUpdates>(
  handle: WorkflowHandle,
  op: K,
  args: object = {},
): Promise<unknown> {
  const updateId = randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      return await handle.executeUpdate(operationUpdates[op] as typeof operationUpdates.start, {
        args: [args as never],
        updateId,
      });
    } catch (err) {
      const lost = err instanceof WorkflowNotFoundError && /^update .* not found/.test(err.message);
      if (!lost || attempt === 8) throw err;
      // Three immediate resends once met the same answer each time: give the server a moment first.
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

/** Runs `body` on a provisioned machine while the worker runs, then deletes the machine and awaits its end. */
export async function withReadyMachine(
  t: VmTestBed,
  i: VmLifecycleInput,
  body: (handle: WorkflowHandle) => Promise<void>,
): Promise<void> {
  await t.worker.runUntil(async () => {
    const handle = await startMachine(t, i);
    await untilReady(handle);
    await body(handle);
    await update(handle, 'delete');
    await handle.result();
  });
}
