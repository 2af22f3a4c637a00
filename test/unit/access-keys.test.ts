import { bearerToken, grants, parseKey, parseLifetime, tierLimits } from '../../lib/access/keys';

const prefix = 'ak_0123456789ab';
const secret = 'A'.repeat(43);

test('a key is <prefix>.<secret> of the expected shapes, nothing else', () => {
  expect(parseKey(`${prefix}.${secret}`)).toEqual({ prefix, secret });
  for (const bad of ['', prefix, `${prefix}.`, `${prefix}.${secret}x`, `ak_XYZ.${secret}`, `${prefix}${secret}`])
    expect({ bad, parsed: parseKey(bad) }).toEqual({ bad, parsed: undefined });
});

test('the bearer token of an Authorization header', () => {
  expect(bearerToken(`Bearer ${prefix}.${secret}`)).toBe(`${prefix}.${secret}`);
  expect(bearerToken('bearer abc')).toBe('abc');
  expect(bearerToken('Basic abc')).toBeUndefined();
  expect(bearerToken(undefined)).toBeUndefined();
});

test('scopes: exact, all, and write or admin allowing read of the same resource only', () => {
  expect(grants(['orders:read'], 'orders:read')).toBe(true);
  expect(grants(['orders:read'], 'orders:write')).toBe(false);
  expect(grants(['orders:write'], 'orders:read')).toBe(true);
  expect(grants(['schedules:admin'], 'schedules:read')).toBe(true);
  expect(grants(['schedules:admin'], 'orders:read')).toBe(false);
  expect(grants(['*'], 'migrations:admin')).toBe(true);
  expect(grants([], 'orders:read')).toBe(false);
  // An app's evaluation key evaluates; it does not read the flags.
  expect(grants(['flags:evaluate'], 'flags:read')).toBe(false);
  expect(grants(['self-checks:write'], 'workflows:read')).toBe(false);
});

test('lifetimes', () => {
  expect(parseLifetime('30d')).toBe(30 * 86_400_000);
  expect(parseLifetime('12h')).toBe(12 * 3_600_000);
  expect(parseLifetime('0d')).toBeUndefined();
  expect(parseLifetime('1w')).toBeUndefined();
});

test('tiers refill at their rate a minute with their burst as capacity', () => {
  expect(tierLimits.free).toEqual({ perMinute: 10, burst: 2 });
  expect(tierLimits.enterprise).toEqual({ perMinute: 10_000, burst: 1_000 });
});
