import {
  cbbFieldRegistry,
  CbbFieldType,
  describeProblems,
  encodeFieldValue,
  mapOrderToContact,
  splitName,
} from '../../lib/cbb/fields';
import type { Order } from '../../lib/cbb/order';
import { toE164 } from '../../lib/cbb/phone';

const order = (over: Partial<Order> = {}): Order => ({
  id: '1',
  externalId: 'IL-1001',
  branch: 'IL',
  isTest: false,
  customerName: 'Dana Levi Cohen',
  email: 'dana@example.com',
  phone: '050-123-4567',
  whatsappAlerts: true,
  visaCountry: 'India',
  visaType: 'tourist',
  visaQuantity: 2,
  entryDate: '2026-12-01',
  amount: '149.90',
  currency: 'ILS',
  urgency: 'urgent',
  createdAt: '2026-11-25T10:00:00.000Z',
  ...over,
});

describe('toE164', () => {
  test.each([
    ['050-123-4567', '+972501234567'],
    ['0501234567', '+972501234567'],
    ['+972 50 123 4567', '+972501234567'],
    ['00972501234567', '+972501234567'],
    ['+1 415 555 2671', '+14155552671'],
  ])('%s → %s', (raw, e164) => expect(toE164(raw)).toBe(e164));

  test.each(['', '   ', '12', 'not a phone', '+972 12'])('%j is not a phone number', (raw) =>
    expect(toE164(raw)).toBeUndefined(),
  );
});

/** The contact an order maps to; fails the test, naming the problems, when the mapping fails. */
function mapped(o: Order) {
  const result = mapOrderToContact(o);
  if (!result.ok) throw new Error(`expected the order to map, got problems: ${JSON.stringify(result.problems)}`);
  return result.contact;
}

describe('mapOrderToContact', () => {
  test('maps a valid order to a contact with every registered field, typed for CBB', () => {
    const contact = mapped(order());
    expect(contact).toMatchObject({
      phone: '+972501234567',
      email: 'dana@example.com',
      firstName: 'Dana',
      lastName: 'Levi Cohen',
    });
    const byName = Object.fromEntries(contact.fields.map((f) => [f.name, f]));
    expect(Object.keys(byName).sort()).toEqual(Object.keys(cbbFieldRegistry).sort());
    expect(byName.order_id).toEqual({ name: 'order_id', id: cbbFieldRegistry.order_id.id, value: 'IL-1001' });
    expect(byName.visa_quantity.value).toBe('2');
    expect(byName.order_amount.value).toBe('149.9');
    expect(byName.entry_date.value).toBe('2026-12-01');
    expect(byName.order_created_at.value).toBe(String(Date.UTC(2026, 10, 25, 10) / 1000));
    expect(byName.whatsapp_alerts.value).toBe('1');
  });

  test('leaves out fields the order has no value for', () => {
    const names = mapped(order({ visaCountry: null, amount: null, currency: null, entryDate: null })).fields.map(
      (f) => f.name,
    );
    expect(names).toEqual(expect.arrayContaining(['order_id', 'visa_quantity']));
    for (const absent of ['visa_country', 'order_amount', 'entry_date']) expect(names).not.toContain(absent);
  });

  test('an order without email is valid', () => {
    const contact = mapped(order({ email: null }));
    expect(contact.email).toBeUndefined();
    expect(contact.phone).toBe('+972501234567');
  });

  test('names every problem of an invalid order', () => {
    const result = mapOrderToContact(order({ phone: '12', email: 'not-an-email', customerName: '  ' }));
    if (result.ok) throw new Error('an invalid order mapped');
    expect(result.problems.map((p) => p.field).sort()).toEqual(['customerName', 'email', 'phone']);
    expect(result.problems.find((p) => p.field === 'phone')?.message).toContain('"12" is not a valid phone number');
  });

  test('a missing phone is a problem: CBB finds contacts by phone', () => {
    const result = mapOrderToContact(order({ phone: null }));
    if (result.ok) throw new Error('an order without a phone mapped');
    expect(result.problems).toEqual([{ field: 'phone', message: expect.stringContaining('required') }]);
  });
});

describe('encodeFieldValue', () => {
  test('encodes each CBB type', () => {
    expect(encodeFieldValue(CbbFieldType.text, 'x')).toBe('x');
    expect(encodeFieldValue(CbbFieldType.number, '3.50')).toBe('3.5');
    expect(encodeFieldValue(CbbFieldType.date, '2026-01-31')).toBe('2026-01-31');
    expect(encodeFieldValue(CbbFieldType.datetime, '1970-01-01T00:01:00Z')).toBe('60');
    expect(encodeFieldValue(CbbFieldType.boolean, false)).toBe('0');
    expect(encodeFieldValue(CbbFieldType.boolean, true)).toBe('1');
  });

  test('refuses values the type cannot hold', () => {
    expect(() => encodeFieldValue(CbbFieldType.number, 'abc')).toThrow('not a number');
    expect(() => encodeFieldValue(CbbFieldType.date, 'soon')).toThrow('not a date');
  });
});

test('splitName keeps multi-word last names', () => {
  expect(splitName('  Moshe  Ben  David ')).toEqual({ firstName: 'Moshe', lastName: 'Ben David' });
  expect(splitName('Cher')).toEqual({ firstName: 'Cher', lastName: '' });
});

describe('the fields CBB receives', () => {
  test("every field goes to the id it has in the CBB account, with the order's value", () => {
    // The account's field ids: a wrong one writes the value into another field of the contact.
    const byName = Object.fromEntries(mapped(order()).fields.map((f) => [f.name, [f.id, f.value]]));
    expect(byName).toEqual({
      order_id: ['701001', 'IL-1001'],
      order_branch: ['701002', 'IL'],
      visa_country: ['701003', 'India'],
      visa_type: ['701004', 'tourist'],
      visa_quantity: ['701005', '2'],
      entry_date: ['701006', '2026-12-01'],
      order_amount: ['701007', '149.9'],
      order_currency: ['701008', 'ILS'],
      urgency: ['701009', 'urgent'],
      order_created_at: ['701010', String(Date.UTC(2026, 10, 25, 10) / 1000)],
      whatsapp_alerts: ['701011', '1'],
    });
  });

  test('an empty text value is left out like a missing one', () => {
    const names = mapped(order({ visaType: '', currency: '' })).fields.map((f) => f.name);
    expect(names).not.toContain('visa_type');
    expect(names).not.toContain('order_currency');
    expect(names).toContain('visa_country');
  });

  test('a value its field type cannot hold is a problem naming the field, even when the phone is good', () => {
    const result = mapOrderToContact(order({ entryDate: 'soon', createdAt: 'yesterday' }));
    if (result.ok) throw new Error('an order with an unreadable date mapped');
    expect(result.problems).toEqual([
      { field: 'entry_date', message: 'not a date: "soon"' },
      { field: 'order_created_at', message: 'not a date and time: "yesterday"' },
    ]);
  });

  test('each problem says what is wrong, and describeProblems joins them for a person', () => {
    const result = mapOrderToContact(
      order({ email: 'not-an-email', customerName: undefined as unknown as string, externalId: '' }),
    );
    if (result.ok) throw new Error('an invalid order mapped');
    expect(result.problems).toEqual([
      { field: 'email', message: '"not-an-email" is not a valid email address' },
      { field: 'customerName', message: 'is required' },
      { field: 'externalId', message: 'is required' },
    ]);
    expect(describeProblems(result.problems)).toBe(
      'email "not-an-email" is not a valid email address; customerName is required; externalId is required',
    );
  });
});

test('a boolean field is 1 only for true, "true", 1 and "1"', () => {
  for (const yes of [true, 'true', 1, '1'] as const) expect(encodeFieldValue(CbbFieldType.boolean, yes)).toBe('1');
  for (const no of [false, 'false', 0, '0', 'yes', 2] as const)
    expect(encodeFieldValue(CbbFieldType.boolean, no)).toBe('0');
  expect(() => encodeFieldValue(CbbFieldType.datetime, 'later')).toThrow('not a date and time: "later"');
});
