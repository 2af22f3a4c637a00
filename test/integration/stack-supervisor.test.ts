import { Client, Connection } from '@temporalio/client';
import { appEnv, part, stackSettings } from '../../scripts/stack/parts';
import { killProcess, runningPid, stopProcess } from '../../scripts/stack/proc';
import { startSupervisor, status, stopSupervisor } from '../../scripts/stack/stack';
import { startWorkerProcess, stopAppProcesses } from '../helpers/app-parts';
import { waitUntil } from '../helpers/wait';

/**
 * The stack's supervisor over the compiled worker: a worker killed as a crash would is
 * back (a new process, polling again) and counted; one stopped on purpose stays stopped.
 * The test stack runs without a supervisor elsewhere, so the tests that kill and restart
 * parts on their own never race one; this file starts one over the worker and the local CBB server.
 */
const s = stackSettings('test');
let temporal: Client;

beforeAll(async () => {
  temporal = new Client({ connection: await Connection.connect({ address: appEnv(s).TEMPORAL_ADDRESS }) });
  await startWorkerProcess(temporal);
  await startSupervisor(s, ['worker', 'cbb']);
}, 180_000);
afterAll(async () => {
  await stopSupervisor(s);
  await stopAppProcesses('worker');
  await temporal?.connection.close();
});

test('a worker killed with SIGKILL comes back as a new process, ready, its restart counted in status', async () => {
  const before = (await status(s)).find((p) => p.name === 'worker')!;
  expect(before.ready).toBe(true);
  const killed = killProcess(s, 'worker');
  expect(killed).toBeDefined();
  await waitUntil(
    'the supervisor to bring the worker back as a new, polling process',
    async () => {
      const pid = runningPid(s, 'worker');
      return pid !== undefined && pid !== killed && (await part('worker').ready(s));
    },
    {
      timeoutMs: 120_000,
      intervalMs: 200,
      hopeless: () => (runningPid(s, 'supervisor') ? undefined : 'the supervisor exited'),
    },
  );
  const after = (await status(s)).find((p) => p.name === 'worker')!;
  expect(after).toMatchObject({ ready: true, restarts: before.restarts + 1 });
  expect(after.pid).not.toBe(killed);
}, 180_000);

test('a worker stopped on purpose stays stopped while the supervisor restarts a part that died', async () => {
  const restartsOf = async (name: string) => (await status(s)).find((p) => p.name === name)!.restarts;
  const workerRestarts = await restartsOf('worker');
  const cbbRestarts = await restartsOf('cbb');
  await stopProcess(s, 'worker', { graceMs: 60_000 });
  // The CBB server dies after the stop: its restart comes from a look that saw the worker after it too.
  const killed = killProcess(s, 'cbb');
  await waitUntil(
    'the supervisor to bring the CBB server back',
    async () => {
      const pid = runningPid(s, 'cbb');
      return pid !== undefined && pid !== killed && (await part('cbb').ready(s));
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  expect(await restartsOf('cbb')).toBe(cbbRestarts + 1);
  expect(runningPid(s, 'worker')).toBeUndefined();
  expect(await restartsOf('worker')).toBe(workerRestarts);
}, 180_000);
