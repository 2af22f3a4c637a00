import { cbbFieldRegistry, CbbFieldType, encodeFieldValue, mapOrderToContact, splitName } from '../../lib/cbb/fields';
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
