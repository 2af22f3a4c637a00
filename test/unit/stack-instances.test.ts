import { extraInstanceNames, part, stackSettings, startAppPart } from '../../scripts/stack/parts';
import { instanceName } from '../../scripts/stack/services';

/** Extra instances of an app part: their names, and the numbers refused before anything is started. */
const s = stackSettings('test', { TEST_STACK_SLOT: '9' });

test('the first instance keeps the part’s name; the others are numbered', () => {
  expect(instanceName({ name: 'worker' })).toBe('worker');
  expect(instanceName({ name: 'worker' }, 2)).toBe('worker-2');
  expect(extraInstanceNames(part('worker'))).toEqual([2, 3, 4, 5, 6, 7, 8, 9].map((n) => `worker-${n}`));
  expect(extraInstanceNames(part('api'))).toEqual([]);
  expect(extraInstanceNames(part('postgres'))).toEqual([]);
});

test('each worker instance gets a metrics port of its own, which no slot declares for anything', () => {
  const spec = part('worker').app!;
  const slots = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((slot) => stackSettings('test', { TEST_STACK_SLOT: String(slot) }));
  const declared = new Set(slots.flatMap((x) => Object.values(x.ports)));
  const instancePorts = slots.flatMap((x) =>
    [2, 3, 4, 5, 6, 7, 8, 9].map((n) => Number(spec.instances!.env(x, n).WORKER_METRICS_PORT)),
  );
  expect(instancePorts.filter((port) => declared.has(port))).toEqual([]);
  expect(new Set(instancePorts).size).toBe(instancePorts.length);
  expect(spec.instances!.env(s, 2).WORKER_METRICS_PORT).toBe(String(s.ports.workerMetrics + 2));
});

test('an instance number out of range, or a second API, is refused with the reason', async () => {
  await expect(startAppPart(s, 'worker', {}, { instance: 0 })).rejects.toThrow(
    'instance of worker must be a whole number from 1 to 9, got 0',
  );
  await expect(startAppPart(s, 'worker', {}, { instance: 10 })).rejects.toThrow('from 1 to 9, got 10');
  await expect(startAppPart(s, 'worker', {}, { instance: 1.5 })).rejects.toThrow('got 1.5');
  await expect(startAppPart(s, 'api', {}, { instance: 2 })).rejects.toThrow('api runs as one process only');
});
