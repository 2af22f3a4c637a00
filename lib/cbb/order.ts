import { z } from 'zod';

/**
 * An order as the visa-order backend hands it over. The API validates the shape with
 * this schema; whether the order can go to CBB (a valid phone, say) is the field
 * mapper's call (lib/cbb/fields.ts), because orders also arrive straight in Postgres.
 */
export const urgencies = ['standard', 'urgent', 'express'] as const;

export const orderInput = z
  .object({
    externalId: z.string().trim().min(1).max(100),
    branch: z
      .string()
      .trim()
      .regex(/^[A-Z]{2}$/, 'a two-letter branch code such as IL'),
    isTest: z.boolean().default(false),
    customerName: z.string().trim().min(1).max(200),
    email: z.string().trim().email().max(254).optional(),
    phone: z.string().trim().min(1).max(40),
    whatsappAlerts: z.boolean().default(false),
    visa: z
      .object({
        country: z.string().trim().min(1).max(100).optional(),
        type: z.string().trim().min(1).max(100).optional(),
        quantity: z.number().int().min(1).max(100).default(1),
        entryDate: z
          .string()
          .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
          .optional(),
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
