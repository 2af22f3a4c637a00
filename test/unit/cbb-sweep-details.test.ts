import { cbbSweepSchedule } from '../../lib/cbb/contract';
import { describeSweep } from '../../lib/cbb/sweep-details';

const totals = { started: 3, joined: 1, synced: 3, notSynced: 1 };
const at = (h: number, m: number) => Date.UTC(2026, 0, 1, h, m);

test('an idle sweep says since when, when it sweeps next and when the run ends', () => {
  expect(describeSweep({ kind: 'idle', since: at(9, 0), nextAt: at(9, 5), endsAt: at(13, 0), totals })).toBe(
    'idle since 09:00:00 UTC: no pending order. Next sweep at 09:05:00 UTC; unless an order turns up, this run ends ' +
      'at 13:00:00 UTC and the Schedule starts the next. This run: 3 syncs started, 1 joined, 3 synced, 1 not synced',
  );
});

test('a sweeping run says from where, and an ended one why', () => {
  expect(describeSweep({ kind: 'sweeping', after: '0', totals })).toMatch(
    /^sweeping pending orders after id 0; this run so far: 3 syncs started/,
  );
  expect(describeSweep({ kind: 'ended', why: 'paused', totals })).toMatch(/^ended \(the Schedule is paused\)/);
  expect(describeSweep({ kind: 'ended', why: 'done', totals })).toMatch(/^ended \(every pending order swept\)/);
  expect(describeSweep({ kind: 'ended', why: 'superseded', totals })).toMatch(/^ended \(another run of the Schedule/);
});

test('the Schedule starts runs that loop while idle and stop on its pause', () => {
  const d = cbbSweepSchedule({ every: '1m', concurrency: 8, taskQueue: 'q' });
  expect(d.args).toEqual([{ concurrency: 8, every: '1m', idleFor: '4h', schedule: 'cbb-sweep' }]);
  expect(d.overlap).toBe('SKIP'); // a tick while the run loops adds nothing
});
