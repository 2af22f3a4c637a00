import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { createVmMetrics } from '../../activities/vm/metrics';
import { fakeMeter } from '../helpers/fake-meter';
import { fakeHypervisor, fakeVmActivities } from '../helpers/vm-fake';

/** The VM activities count every libvirt operation by outcome and code, and log one line per operation done. */
test('an operation counts once by outcome, a failure by its code, and a done operation logs one info line', async () => {
  const hv = fakeHypervisor();
  hv.domains.set('web-1', {
    uuid: '6c8a1f3e-0000-4000-8000-000000000001',
    state: 'shutoff',
    reason: 'shutdown',
    snapshots: new Map(),
    memoryMiB: 128,
    vcpus: 1,
    ignoresAcpi: false,
  });
  const f = fakeMeter();
  const acts = fakeVmActivities(hv, undefined, { metrics: createVmMetrics(f.meter) });
  const lines: LogEntry[] = [];
  const env = new MockActivityEnvironment(undefined, {
    logger: new DefaultLogger('INFO', (entry) => lines.push(entry)),
  });
  const ref = { machineId: '42', name: 'web-1' };

  hv.fail('start', 'LIBVIRT_CONNECTION_FAILED');
  await expect(env.run(acts.startMachine, ref)).rejects.toThrow(/injected/);
  await env.run(acts.startMachine, ref);

  expect(f.total('vm_operations_total', { op: 'start', outcome: 'error' })).toBe(1);
  expect(f.total('vm_operations_total', { op: 'start', outcome: 'ok' })).toBe(1);
  expect(f.total('vm_operation_errors_total', { code: 'LIBVIRT_CONNECTION_FAILED' })).toBe(1);
  expect(f.instruments.get('vm_operation_duration_seconds')?.values.get('{"op":"start"}')).toHaveLength(2);
  const done = lines.filter((l) => l.message === 'VM operation done');
  expect(done.map((l) => l.meta)).toEqual([
    expect.objectContaining({ machineId: '42', operation: 'start', observed: 'running' }),
  ]);
});
