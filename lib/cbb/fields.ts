import { z } from 'zod';
import type { Order } from './order';
import { toE164 } from './phone';

/**
 * From an order to a CBB contact: the custom-field registry (our name → CBB's field id
 * and type) and the validation that decides whether an order can go to CBB at all.
 * Pure, so the API, the activities and the tests share it.
 */

/** CBB's custom field types, as its API numbers them. */
export const CbbFieldType = { text: 0, number: 1, date: 2, datetime: 3, boolean: 4 } as const;
export type CbbFieldType = (typeof CbbFieldType)[keyof typeof CbbFieldType];

export interface CbbFieldSpec {
  /** The field id in the CBB account (the local CBB server knows the same ids). */
  id: string;
  type: CbbFieldType;
  value: (o: Order) => string | number | boolean | null;
}

export const cbbFieldRegistry = {
  order_id: { id: '701001', type: CbbFieldType.text, value: (o) => o.externalId },
  order_branch: { id: '701002', type: CbbFieldType.text, value: (o) => o.branch },
  visa_country: { id: '701003', type: CbbFieldType.text, value: (o) => o.visaCountry },
  visa_type: { id: '701004', type: CbbFieldType.text, value: (o) => o.visaType },
  visa_quantity: { id: '701005', type: CbbFieldType.number, value: (o) => o.visaQuantity },
  entry_date: { id: '701006', type: CbbFieldType.date, value: (o) => o.entryDate },
  order_amount: {
    id: '701007',
    type: CbbFieldType.number,
    value: (o) => (o.amount === null ? null : Number(o.amount)),
  },
  order_currency: { id: '701008', type: CbbFieldType.text, value: (o) => o.currency },
  urgency: { id: '701009', type: CbbFieldType.text, value: (o) => o.urgency },
  order_created_at: { id: '701010', type: CbbFieldType.datetime, value: (o) => o.createdAt },
  whatsapp_alerts: { id: '701011', type: CbbFieldType.boolean, value: (o) => o.whatsappAlerts },
} satisfies Record<string, CbbFieldSpec>;

export type CbbFieldName = keyof typeof cbbFieldRegistry;

/** One custom field value as CBB wants it on the wire (always a string in a form body). */
export interface CbbFieldValue {
  name: CbbFieldName;
  id: string;
  value: string;
}

export interface CbbContactDraft {
  phone: string;
  email?: string;
  firstName: string;
  lastName: string;
  fields: CbbFieldValue[];
}

export interface FieldProblem {
  field: string;
  message: string;
}

export type MapResult = { ok: true; contact: CbbContactDraft } | { ok: false; problems: FieldProblem[] };

const email = z.string().email();

/** Encodes a value for its CBB type; throws on a value that the type cannot hold. */
export function encodeFieldValue(type: CbbFieldType, value: string | number | boolean): string {
  switch (type) {
    case CbbFieldType.text:
      return String(value);
    case CbbFieldType.number: {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(value)}`);
      return String(n);
    }
    case CbbFieldType.date: {
      const d = new Date(String(value));
      if (Number.isNaN(d.getTime())) throw new Error(`not a date: ${JSON.stringify(value)}`);
      return d.toISOString().slice(0, 10);
    }
    case CbbFieldType.datetime: {
      const d = new Date(String(value));
      if (Number.isNaN(d.getTime())) throw new Error(`not a date and time: ${JSON.stringify(value)}`);
      return String(Math.floor(d.getTime() / 1000));
    }
    case CbbFieldType.boolean:
      return value === true || value === 'true' || value === 1 || value === '1' ? '1' : '0';
  }
}

export function splitName(full: string): { firstName: string; lastName: string } {
  const parts = full.trim().split(/\s+/);
  return { firstName: parts[0] ?? '', lastName: parts.slice(1).join(' ') };
}

/** Maps an order to its CBB contact, or says every reason why it cannot be synced. */
export function mapOrderToContact(order: Order, defaultCountry: 'IL' = 'IL'): MapResult {
  const problems: FieldProblem[] = [];
  const phone = order.phone ? toE164(order.phone, defaultCountry) : undefined;
  if (!order.phone) problems.push({ field: 'phone', message: 'is required: CBB finds contacts by phone' });
  else if (!phone)
    problems.push({ field: 'phone', message: `${JSON.stringify(order.phone)} is not a valid phone number` });
  if (order.email && !email.safeParse(order.email).success) {
    problems.push({ field: 'email', message: `${JSON.stringify(order.email)} is not a valid email address` });
  }
  const name = splitName(order.customerName ?? '');
  if (!name.firstName) problems.push({ field: 'customerName', message: 'is required' });
  if (!order.externalId) problems.push({ field: 'externalId', message: 'is required' });

  const fields: CbbFieldValue[] = [];
  for (const [fieldName, spec] of Object.entries(cbbFieldRegistry) as [CbbFieldName, CbbFieldSpec][]) {
    const raw = spec.value(order);
    if (raw === null || raw === '') continue;
    try {
      fields.push({ name: fieldName, id: spec.id, value: encodeFieldValue(spec.type, raw) });
    } catch (err) {
      problems.push({ field: fieldName, message: err instanceof Error ? err.message : String(err) });
    }
  }
  if (problems.length > 0 || !phone) return { ok: false, problems };
  return { ok: true, contact: { phone, email: order.email ?? undefined, ...name, fields } };
}

export function describeProblems(problems: FieldProblem[]): string {
  return problems.map((p) => `${p.field} ${p.message}`).join('; ');
}
