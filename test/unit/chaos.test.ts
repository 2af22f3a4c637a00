import { outageInvariants, report } from '../../scripts/chaos/invariants';
import { killSchedule, parseSeed } from '../../scripts/chaos/schedule';
import type { Answer } from '../../scripts/chaos/client';

const parts = ['temporal', 'redis', 'api', 'hmm-worker', 'cbb', 'postgres', 'libvirtd', 'worker'];
const tenMinutes = { durationMs: 600_000, killEveryMs: 30_000, parts };

describe('the kill schedule', () => {
  test('the same seed gives the same kills; another seed another order', () => {
    const a = killSchedule({ ...tenMinutes, seed: 42 });
    expect(killSchedule({ ...tenMinutes, seed: 42 })).toEqual(a);
    expect(killSchedule({ ...tenMinutes, seed: 43 }).map((k) => k.part)).not.toEqual(a.map((k) => k.part));
    expect(a.map((k) => k.atMs)).toEqual(Array.from({ length: 19 }, (_, i) => (i + 1) * 30_000));
  });

  test('every part is killed once per round, and never twice in a row', () => {
    for (let seed = 0; seed < 200; seed++) {
      const kills = killSchedule({ ...tenMinutes, seed }).map((k) => k.part);
      expect([...kills.slice(0, 8)].sort()).toEqual([...parts].sort());
      expect([...kills.slice(8, 16)].sort()).toEqual([...parts].sort());
      for (let i = 1; i < kills.length; i++) expect(kills[i]).not.toBe(kills[i - 1]);
    }
  });

  test('a window shorter than one gap kills nothing; bad input is refused by name', () => {
    expect(killSchedule({ seed: 1, durationMs: 20_000, killEveryMs: 30_000, parts })).toEqual([]);
    expect(() => killSchedule({ seed: 1, durationMs: 60_000, killEveryMs: 0, parts })).toThrow(/between kills/);
    expect(() => killSchedule({ seed: 1, durationMs: 60_000, killEveryMs: 1000, parts: [] })).toThrow(
      /at least one part/,
    );
    expect(parseSeed('0x2a')).toBe(42);
    expect(() => parseSeed('-1')).toThrow(/--seed/);
    expect(() => parseSeed('1.5')).toThrow(/--seed/);
  });
});

describe('the outage invariants', () => {
  const answer = (over: Partial<Answer>): Answer => ({
    route: 'GET /x',
    status: 200,
    ms: 10,
    retryAfter: false,
    at: 0,
    ...over,
  });
  const held = (answers: Answer[]) => outageInvariants(answers, 2000).map((i) => i.held);

  test('200s, 503s with Retry-After inside the deadline and its 10 %: all held', () => {
    expect(held([answer({}), answer({ status: 503, retryAfter: true, ms: 2200 })])).toEqual([true, true, true]);
  });

  test('a 500, a request without an answer, a bare 503 and a late one each break their invariant', () => {
    expect(held([answer({ status: 500, detail: 'internal error' })])).toEqual([false, true, true]);
    expect(held([answer({ status: 0 })])).toEqual([false, true, true]);
    expect(held([answer({ status: 503, retryAfter: false })])).toEqual([true, false, true]);
    expect(held([answer({ status: 503, retryAfter: true, ms: 2201 })])).toEqual([true, true, false]);
  });

  test('the report numbers each invariant and counts the broken ones', () => {
    const text = report(
      outageInvariants([answer({ status: 502, route: 'POST /api/v1/orders', detail: 'bad gateway' })], 2000),
    );
    expect(text).toMatch(/^ 1\. BROKEN no 5xx other than 503/);
    expect(text).toContain('502 POST /api/v1/orders: bad gateway');
    expect(text.split('\n').pop()).toBe('1 of 3 invariants BROKEN');
  });
});
