import { describePass, describeReconcile } from '../../lib/vm/reconcile-details';

const at = Date.UTC(2026, 10, 26, 4, 5, 0);
const none = { machines: 3, drifted: 0, signalled: 0, unattended: 0, orphans: [] };

test('a pass says what it checked and where the drift went, in words, at what time', () => {
  expect(describePass({ ...none, drifted: 1, signalled: 1 }, ['vm-7'], at)).toBe(
    '3 machines checked, 1 drift sent to vm-7 at 04:05:00 UTC',
  );
  expect(describePass({ ...none, machines: 1 }, [], at)).toBe('1 machine checked, no drift at 04:05:00 UTC');
  const ids = ['vm-1', 'vm-2', 'vm-3', 'vm-4', 'vm-5'];
  expect(
    describePass({ ...none, machines: 6, drifted: 6, signalled: 5, unattended: 1, orphans: ['stray'] }, ids, at),
  ).toBe(
    '6 machines checked, 5 drifts sent to vm-1, vm-2, vm-3 and 2 more, 1 drift reported only (no workflow running), ' +
      '1 domain no machine names (stray) at 04:05:00 UTC',
  );
});

test('a waiting run says when it reconciles next and when it ends; an ended one why', () => {
  const last = '3 machines checked, no drift at 04:05:00 UTC';
  expect(describeReconcile({ kind: 'waiting', last, nextAt: at + 60_000, endsAt: at + 4 * 3_600_000 })).toBe(
    `${last}; next pass at 04:06:00 UTC (this run ends by 08:05:00 UTC, the Schedule starts the next)`,
  );
  expect(describeReconcile({ kind: 'ended', last, passes: 240, why: 'time' })).toBe(
    `${last}; ended after 240 passes (ran its time: the Schedule starts the next run)`,
  );
});
