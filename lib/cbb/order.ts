import { z } from 'zod';
import { controlCharacters } from '../text';

/**
 * An order as the visa-order backend hands it over. The API validates the shape with
 * this schema; whether the order can go to CBB (a valid phone, say) is the field
 * mapper's call (lib/cbb/fields.ts), because orders also arrive straight in Postgres.
 */
export const urgencies = ['standard', 'urgent', 'express'] as const;

// Text fields go to Postgres and to CBB: a NUL byte or another control character is refused here, with its field.
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((v) => !controlCharacters.test(v), 'must not contain control characters');

/** A calendar date that exists: 2026-02-31 is refused rather than left for the database to reject. */
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
  .refine((v) => {
    const d = new Date(`${v}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
  }, 'not a calendar date');

export const orderInput = z
  .object({
    externalId: text(100),
    branch: z
      .string()
      .trim()
      .regex(/^[A-Z]{2}$/, 'a two-letter branch code such as IL'),
    isTest: z.boolean().default(false),
    customerName: text(200),
    email: z.string().trim().email().max(254).optional(),
    phone: text(40),
    whatsappAlerts: z.boolean().default(false),
    visa: z
      .object({
        country: text(100).optional(),
        type: text(100).optional(),
        quantity: z.number().int().min(1).max(100).default(1),
        entryDate: isoDate.optional(),
      })
      .strict()
      .default({}),
    amount: z.number().nonnegative().max(10_000_000).optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'a three-letter currency code such as ILS')
      .optional(),
    urgency: z.enum(urgencies).default('standard'),
  })
  .strict();

export type OrderInput = z.infer<typeof orderInput>;

/** An order row as the sync reads it (dates as ISO strings so it crosses into workflows). */
export interface Order {
  id: string;
  externalId: string;
  branch: string;
  isTest: boolean;
  customerName: string;
  email: string | null;
  phone: string | null;
  whatsappAlerts: boolean;
  visaCountry: string | null;
  visaType: string | null;
  visaQuantity: number;
  entryDate: string | null;
  amount: string | null;
  currency: string | null;
  urgency: string;
  createdAt: string;
}

export type CbbStatus = 'pending' | 'synced' | 'failed' | 'skipped';
export type WhatsappStatus = 'pending' | 'sent' | 'skipped' | 'unconfirmed' | 'failed';

/** Only the IL branch's orders go to CBB (the partner serves that branch's customers). */
export const cbbBranches: ReadonlySet<string> = new Set(['IL']);

/**
 * The fields in which a repeated order differs from the one already stored under its
 * external id: empty for an identical repeat (safe to answer 200 and change nothing).
 */
export function orderDifferences(input: OrderInput, stored: Order): string[] {
  const pairs: [string, unknown, unknown][] = [
    ['branch', input.branch, stored.branch],
    ['isTest', input.isTest, stored.isTest],
    ['customerName', input.customerName, stored.customerName],
    ['email', input.email ?? null, stored.email],
    ['phone', input.phone, stored.phone],
    ['whatsappAlerts', input.whatsappAlerts, stored.whatsappAlerts],
    ['visa.country', input.visa.country ?? null, stored.visaCountry],
    ['visa.type', input.visa.type ?? null, stored.visaType],
    ['visa.quantity', input.visa.quantity, stored.visaQuantity],
    ['visa.entryDate', input.visa.entryDate ?? null, stored.entryDate],
    ['amount', input.amount ?? null, stored.amount === null ? null : Number(stored.amount)],
    ['currency', input.currency ?? null, stored.currency],
    ['urgency', input.urgency, stored.urgency],
  ];
  return pairs.filter(([, a, b]) => a !== b).map(([name]) => name);
}
