import {
  autoPartitionCount,
  etaSeconds,
  nextBatchSize,
  overloadDelayMs,
  defaultThrottleLimits,
  overloaded,
  rateDelayMs,
  rowsPerSecond,
  splitKeyRange,
} from '../../lib/batch-migration/batching';
import { dataMigrations, getMigrationDefinition } from '../../lib/batch-migration/registry';
import { runParameters } from '../../store/batch-migration/start';

test('the batch size moves toward the target time, at most ×2 or ×½ a step, within floor and ceiling', () => {
  expect(nextBatchSize(1000, 250, 500)).toBe(2000);
  expect(nextBatchSize(1000, 100, 500)).toBe(2000);
  expect(nextBatchSize(1000, 400, 500)).toBe(1250);
  expect(nextBatchSize(1000, 5000, 500)).toBe(500);
  expect(nextBatchSize(12, 5000, 500)).toBe(10);
  expect(nextBatchSize(80_000, 100, 500)).toBe(100_000);
  expect(nextBatchSize(1000, 0, 500)).toBe(2000);
  // A batch the clock measured at no time at all, or less (a coarse or stepped clock), doubles too.
  expect(nextBatchSize(1000, -1, 500)).toBe(2000);
});

test('throttle: load limits, back-off and the rate', () => {
  const limits = { maxActiveConnections: 32, maxLockWaits: 4 };
  expect(overloaded({ activeConnections: 33, lockWaits: 0 }, limits)).toBe(true);
  expect(overloaded({ activeConnections: 1, lockWaits: 5 }, limits)).toBe(true);
  expect(overloaded({ activeConnections: 32, lockWaits: 4 }, limits)).toBe(false);
  // The defaults are those limits: 32 other active sessions, 4 lock waits.
  expect(overloaded({ activeConnections: 33, lockWaits: 0 }, defaultThrottleLimits)).toBe(true);
  expect(overloaded({ activeConnections: 0, lockWaits: 5 }, defaultThrottleLimits)).toBe(true);
  expect(overloaded({ activeConnections: 32, lockWaits: 4 }, defaultThrottleLimits)).toBe(false);
  expect(overloaded(undefined, limits)).toBe(false);
  expect([0, 1, 2, 3, 6, 10].map(overloadDelayMs)).toEqual([0, 1000, 2000, 4000, 30_000, 30_000]);
  expect(rateDelayMs(1000, 200, 2000)).toBe(300);
  expect(rateDelayMs(1000, 800, 2000)).toBe(0);
  expect(rateDelayMs(1000, 200, undefined)).toBe(0);
});

test('rate and ETA', () => {
  expect(rowsPerSecond(5000, 2000)).toBe(2500);
  expect(rowsPerSecond(5000, 0)).toBe(0);
  expect(etaSeconds(10_000, 5000, 2500)).toBe(2);
  expect(etaSeconds(undefined, 5000, 2500)).toBeNull();
  expect(etaSeconds(10_000, 5000, 0)).toBeNull();
});

test('key ranges for partitions are contiguous, cover min..max, and leave the last one open', () => {
  const ranges = splitKeyRange('1', '100', 4);
  expect(ranges).toEqual([
    { after: undefined, upTo: '25' },
    { after: '25', upTo: '50' },
    { after: '50', upTo: '75' },
    { after: '75', upTo: undefined },
  ]);
  expect(splitKeyRange('1', '2', 4)).toEqual([
    { after: undefined, upTo: '1' },
    { after: '1', upTo: undefined },
  ]);
  // Beyond 2^53 a double holds only even numbers; the split must still be exact.
  const big = splitKeyRange('9007199254740993', '9007199254741994', 2);
  expect(big[0].upTo).toBe('9007199254741493');
});

test('partitions auto: one per database core left idle, at least 1, at most the cores and 16', () => {
  expect(autoPartitionCount({ cores: 2, load: 0 })).toBe(2);
  expect(autoPartitionCount({ cores: 2, load: 0.4 })).toBe(2);
  expect(autoPartitionCount({ cores: 2, load: 0.6 })).toBe(1);
  expect(autoPartitionCount({ cores: 2, load: 9 })).toBe(1);
  expect(autoPartitionCount({ cores: 8, load: 3 })).toBe(5);
  expect(autoPartitionCount({ cores: 64, load: 1 })).toBe(16);
  expect(autoPartitionCount({ cores: 1, load: 0 })).toBe(1);
  expect(autoPartitionCount({ cores: 4, load: -1 })).toBe(4);
});

test('partitions: a number from 1 to 16 or "auto"; anything else is refused with what is allowed', () => {
  expect(runParameters.parse({}).partitions).toBe(1);
  expect(runParameters.parse({ partitions: 'auto' }).partitions).toBe('auto');
  expect(runParameters.parse({ partitions: 16 }).partitions).toBe(16);
  for (const bad of [0, 17, 2.5, 'x', null]) {
    const parsed = runParameters.safeParse({ partitions: bad });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['partitions']);
  }
  expect(runParameters.safeParse({ partitions: 'many' }).error?.issues[0]?.message).toBe(
    'must be a whole number from 1 to 16, or "auto"',
  );
});

test('definitions: the phone migration computes E.164 in the branch country and keeps what it cannot read', () => {
  const m = getMigrationDefinition('orders-phone-e164');
  if ('sql' in m.newValue) throw new Error('expected a worker-computed migration');
  expect(m.newValue.compute({ phone: '050-123-4567', branch: 'IL' })).toBe('+972501234567');
  expect(m.newValue.compute({ phone: '(201) 555-0123', branch: 'US' })).toBe('+12015550123');
  expect(m.newValue.compute({ phone: 'call me', branch: 'IL' })).toBe('call me');
  expect([...dataMigrations.keys()]).toEqual(['trades-risk-score', 'orders-phone-e164']);
  expect(() => getMigrationDefinition('nope')).toThrow(/no data migration named "nope"/);
});
