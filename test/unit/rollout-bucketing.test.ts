import {
  bucketCount,
  bucketOf,
  evaluateFlag,
  flagRecord,
  murmur3,
  utf8,
  type FlagRecord,
} from '../../lib/rollout/bucketing';

const flag = (f: Partial<FlagRecord>): FlagRecord => flagRecord.parse({ key: 'checkout', weight: 0, ...f });
const users = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);
const canaries = (f: FlagRecord) => new Set(users.filter((id) => evaluateFlag(f, { id }).variant === 'canary'));

describe('murmur3', () => {
  it('matches the published MurmurHash3 x86_32 test vectors', () => {
    // Vectors from the algorithm's reference test suite (as listed on Wikipedia's MurmurHash page).
    expect(murmur3(utf8(''), 0)).toBe(0);
    expect(murmur3(utf8(''), 1)).toBe(0x514e28b7);
    expect(murmur3(utf8('test'), 0)).toBe(0xba6bd213);
    expect(murmur3(utf8('Hello, world!'), 0x9747b28c)).toBe(0x24884cba);
    expect(murmur3(utf8('The quick brown fox jumps over the lazy dog'), 0x9747b28c)).toBe(0x2fa826cd);
  });

  it('hashes the UTF-8 bytes of non-ASCII ids', () => {
    expect(utf8('é€😀')).toEqual([0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
  });
});

describe('sticky percentage bucketing', () => {
  it('keeps every canary subject a canary as the weight grows 5 → 25 → 50 → 100', () => {
    let previous = new Set<string>();
    for (const weight of [5, 25, 50, 100]) {
      const now = canaries(flag({ weight }));
      for (const id of previous) expect(now.has(id)).toBe(true);
      previous = now;
    }
    expect(previous.size).toBe(users.length);
  });

  it('gives each weight its share within 1.5 percentage points over 20,000 subjects', () => {
    for (const weight of [1, 5, 25, 50, 75]) {
      const share = (canaries(flag({ weight })).size / users.length) * 100;
      expect(Math.abs(share - weight)).toBeLessThan(1.5);
    }
  });

  it('spreads buckets evenly: every tenth of the range within 10 % of its expected count', () => {
    const deciles = new Array(10).fill(0);
    for (const id of users) deciles[Math.floor((bucketOf('checkout', id) / bucketCount) * 10)]++;
    for (const count of deciles) expect(Math.abs(count - users.length / 10)).toBeLessThan(users.length / 100);
  });

  it('splits each flag independently, and the same subject always lands in the same bucket', () => {
    const a = canaries(flag({ key: 'checkout', weight: 10 }));
    const b = canaries(flag({ key: 'search', weight: 10 }));
    const both = [...a].filter((id) => b.has(id)).length;
    // Independent 10 % splits share about 1 % of subjects, far from the 10 % of a shared split.
    expect(both / users.length).toBeLessThan(0.02);
    expect(bucketOf('checkout', 'user-42')).toBe(bucketOf('checkout', 'user-42'));
  });
});

describe('flag evaluation', () => {
  it('gives target groups the canary while the weight is above 0', () => {
    const f = flag({ weight: 5, groups: ['beta_users'] });
    const outsider = users.find((id) => evaluateFlag(f, { id }).variant === 'baseline') as string;
    expect(evaluateFlag(f, { id: outsider, groups: ['beta_users'] })).toMatchObject({
      variant: 'canary',
      reason: 'group',
    });
    expect(evaluateFlag(f, { id: outsider, groups: ['staff'] })).toMatchObject({
      variant: 'baseline',
      reason: 'percentage',
    });
  });

  it('weight 0 (what an abort sets) reaches everyone, the target groups too', () => {
    const f = flag({ weight: 0, groups: ['beta_users'] });
    expect(evaluateFlag(f, { id: 'user-1', groups: ['beta_users'] })).toMatchObject({
      variant: 'baseline',
      reason: 'off',
    });
    expect(canaries(f).size).toBe(0);
  });

  it('the kill switch sends everyone to the baseline whatever the weight and groups', () => {
    const f = flag({ weight: 100, groups: ['beta_users'], killSwitch: true });
    expect(canaries(f).size).toBe(0);
    expect(evaluateFlag(f, { id: 'user-1', groups: ['beta_users'] })).toMatchObject({
      variant: 'baseline',
      reason: 'kill-switch',
    });
  });

  it('validates a flag record with readable messages', () => {
    const r = flagRecord.safeParse({ key: 'checkout', weight: 120, groups: ['beta users'] });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message)).toEqual([
      'weight must be between 0 and 100',
      'a group name is 1 to 100 letters, digits, _, . or - (e.g. beta_users)',
    ]);
  });
});
