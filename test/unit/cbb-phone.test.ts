import { toE164 } from '../../lib/cbb/phone';

describe('toE164', () => {
  test('a 00 international prefix is read as +, whatever the branch country dials abroad with', () => {
    // The US dials abroad with 011, so libphonenumber alone would not read 00 as international.
    expect(toE164('00972501234567', 'US')).toBe('+972501234567');
    expect(toE164('  00972501234567  ', 'US')).toBe('+972501234567');
    expect(toE164('(201) 555-0123', 'US')).toBe('+12015550123');
  });

  test('national numbers are read in the branch country', () => {
    expect(toE164('050-123-4567', 'IL')).toBe('+972501234567');
    expect(toE164('050-123-4567')).toBe('+972501234567');
    expect(toE164('201 555 0123', 'US')).toBe('+12015550123');
  });

  test('a number that is not valid for its country is refused', () => {
    expect(toE164('+1 201 555 012', 'US')).toBeUndefined();
    expect(toE164('00', 'IL')).toBeUndefined();
  });
});
