import { agree, formatSpread, pairedRounds, spreadOf } from '../../bench/support/rounds';

describe('bench rounds', () => {
  it('takes the median and half the range as the spread', () => {
    const s = spreadOf([10, 12, 8, 11]);
    expect(s.median).toBe(10.5);
    expect(s.min).toBe(8);
    expect(s.max).toBe(12);
    expect(s.spread).toBeCloseTo(2 / 10.5);
    expect(formatSpread(s)).toBe('10.50 ±19 % (4 rounds)');
  });

  it('alternates the arms ABBA and pairs each round’s ratio', async () => {
    const order: string[] = [];
    const r = await pairedRounds({
      rounds: 4,
      baseline: async (i) => (order.push(`b${i}`), 100),
      subject: async (i) => (order.push(`s${i}`), 50 + i),
    });
    expect(order).toEqual(['b0', 's0', 's1', 'b1', 'b2', 's2', 's3', 'b3']);
    expect(r.ratio.values).toEqual([0.5, 0.51, 0.52, 0.53]);
    expect(r.ratio.median).toBeCloseTo(0.515);
  });

  it('says whether runs agree within a tolerance of their median', () => {
    expect(agree([1.0, 1.05, 0.95])).toBe(true);
    expect(agree([1.0, 1.2, 0.95])).toBe(false);
  });

  it('refuses what it cannot summarise', async () => {
    expect(() => spreadOf([])).toThrow(/at least one/);
    await expect(pairedRounds({ rounds: 0, baseline: async () => 1, subject: async () => 1 })).rejects.toThrow(
      /rounds/,
    );
  });
});
