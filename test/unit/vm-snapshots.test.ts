import { describeLost, lostSnapshots, markLost, taken } from '../../lib/vm/snapshots';
import { canApply } from '../../lib/vm/transitions';

/** The comparison of a machine's recorded snapshots with libvirt's, and what a lost one refuses. */

describe('lostSnapshots', () => {
  it('names the recorded snapshots libvirt does not list, in the record order', () => {
    expect(lostSnapshots(['a', 'b', 'c'], ['c', 'a'])).toEqual(['b']);
    expect(lostSnapshots(['a', 'b'], [])).toEqual(['a', 'b']);
  });

  it('finds nothing lost when libvirt has them all, or has more than the record', () => {
    expect(lostSnapshots(['a'], ['a', 'made-with-virsh'])).toEqual([]);
    expect(lostSnapshots([], ['a'])).toEqual([]);
  });
});

describe('the snapshot book', () => {
  const lostAt = '2026-12-05T12:00:00.000Z';

  it('moves marked snapshots to the lost ones, one mark per name', () => {
    const book = markLost({ snapshots: ['a', 'b'], lostSnapshots: [{ name: 'b', lostAt: 'earlier' }] }, [
      { name: 'b', lostAt },
    ]);
    expect(book).toEqual({ snapshots: ['a'], lostSnapshots: [{ name: 'b', lostAt }] });
  });

  it('takes a new snapshot under a lost name as live again', () => {
    expect(taken({ snapshots: ['a'], lostSnapshots: [{ name: 'b', lostAt }] }, 'b')).toEqual({
      snapshots: ['a', 'b'],
      lostSnapshots: [],
    });
    expect(taken({ snapshots: ['a'] }, 'a')).toEqual({ snapshots: ['a'], lostSnapshots: [] });
  });

  it('says what was lost', () => {
    expect(describeLost(['a'])).toBe('snapshot lost: a (libvirt no longer has it)');
    expect(describeLost(['a', 'b'])).toBe('snapshots lost: a, b (libvirt no longer has them)');
  });
});

describe('revert to a lost snapshot', () => {
  const lost = [{ name: 'before-upgrade', lostAt: '2026-12-05T12:00:00.000Z' }];

  it('is refused, saying it is lost and since when', () => {
    const verdict = canApply('revert', 'running', { snapshots: [], lost, snapshot: 'before-upgrade' });
    expect(verdict).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^revert refused: snapshot "before-upgrade" is lost: libvirt no longer has it \(noticed 2026-12-05T12:00:00.000Z;/,
      ),
    });
  });

  it('leaves other snapshots and unknown names as they were', () => {
    expect(canApply('revert', 'running', { snapshots: ['a'], lost, snapshot: 'a' }).ok).toBe(true);
    const unknown = canApply('revert', 'running', { snapshots: ['a'], lost, snapshot: 'zz' });
    expect(unknown).toEqual({ ok: false, reason: expect.stringContaining('"zz" is not one (snapshots: a)') });
  });
});
