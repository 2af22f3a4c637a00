import { cbbFieldRegistry, CbbFieldType } from '../../lib/cbb/fields';

/**
 * The local CBB server's memory: contacts, WhatsApp messages, and a log of every
 * request it received, so tests and benchmarks can count what really reached "CBB".
 */

export interface StoredContact {
  id: string;
  phone: string;
  email: string | null;
  first_name: string;
  last_name: string;
  /** Values by field id. */
  fields: Map<string, string>;
  tags: Set<string>;
  created_at: number;
}

export interface SentMessage {
  id: string;
  contactId: string;
  template: string;
  params: Record<string, string>;
  at: number;
}

export interface LoggedRequest {
  seq: number;
  at: number;
  method: string;
  route: string;
  status: number;
  contactId?: string;
  /** The phone a find or a create named: with contactId, what lets a test count the calls for its own orders. */
  phone?: string;
  fault?: string;
}

export interface Faults {
  /** Share of API calls answered 500 before doing anything. */
  errorRate: number;
  /** Share answered 200 with `{success: false}` and a transient message, before doing anything. */
  softErrorRate: number;
  /** Share answered 429 with Retry-After: retryAfterSeconds. */
  rateLimitRate: number;
  retryAfterSeconds: number;
  /** Share left unanswered (nothing done): the client's timeout has to fire. */
  timeoutRate: number;
  /** Fixed delay before every API answer. */
  latencyMs: number;
}

export const noFaults: Faults = {
  errorRate: 0,
  softErrorRate: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  timeoutRate: 0,
  latencyMs: 0,
};

/** The field registry of the account that the local server plays: the same ids as lib/cbb/fields.ts. */
export const knownFields = new Map<string, { id: string; name: string; type: number }>(
  Object.entries(cbbFieldRegistry).map(([name, spec]) => [spec.id, { id: spec.id, name, type: spec.type }]),
);
const fieldIdByName = new Map([...knownFields.values()].map((f) => [f.name, f.id]));

export function fieldIdOf(name: string): string | undefined {
  return fieldIdByName.get(name);
}

/** Checks a value against a field type the way CBB does; returns a reason when it does not fit. */
export function invalidForType(type: number, value: string): string | undefined {
  switch (type) {
    case CbbFieldType.number:
      return Number.isFinite(Number(value)) && value.trim() !== '' ? undefined : 'not a number';
    case CbbFieldType.date:
      return /^\d{4}-\d{2}-\d{2}$/.test(value) ? undefined : 'not a date (YYYY-MM-DD)';
    case CbbFieldType.datetime:
      return /^\d+$/.test(value) ? undefined : 'not a unix time in seconds';
    case CbbFieldType.boolean:
      return value === '0' || value === '1' ? undefined : 'not 1 or 0';
    default:
      return undefined;
  }
}

/** WhatsApp needs a mobile: Israeli numbers have it only when they are mobiles (+9725…). */
export function hasWhatsapp(phone: string): boolean {
  return phone.startsWith('+972') ? /^\+9725\d{8}$/.test(phone) : /^\+\d{8,15}$/.test(phone);
}

export function createStore() {
  let nextContact = 100_000;
  let nextMessage = 1;
  let seq = 0;
  const contacts = new Map<string, StoredContact>();
  const byPhone = new Map<string, StoredContact[]>();
  const messages: SentMessage[] = [];
  const requests: LoggedRequest[] = [];
  let faults: Faults = { ...noFaults };

  return {
    get faults() {
      return faults;
    },
    setFaults(update: Partial<Faults>) {
      faults = { ...faults, ...update };
      return faults;
    },
    log(entry: Omit<LoggedRequest, 'seq' | 'at'>) {
      requests.push({ seq: ++seq, at: Date.now(), ...entry });
    },
    createContact(c: { phone: string; email: string | null; first_name: string; last_name: string }): StoredContact {
      // Like CBB, a second contact with the same phone is created, not refused: a double create shows in the counts.
      const contact: StoredContact = {
        ...c,
        id: String(++nextContact),
        fields: new Map(),
        tags: new Set(),
        created_at: Date.now(),
      };
      contacts.set(contact.id, contact);
      byPhone.set(c.phone, [...(byPhone.get(c.phone) ?? []), contact]);
      return contact;
    },
    contact: (id: string) => contacts.get(id),
    /** Drops a contact as a CBB that lost it would (the stand-in's restart loses them all); false if unknown. */
    forgetContact(id: string): boolean {
      const contact = contacts.get(id);
      if (!contact) return false;
      contacts.delete(id);
      byPhone.set(
        contact.phone,
        (byPhone.get(contact.phone) ?? []).filter((c) => c.id !== id),
      );
      return true;
    },
    findByPhone: (phone: string) => byPhone.get(phone) ?? [],
    findByField: (fieldId: string, value: string) =>
      [...contacts.values()].filter((c) => c.fields.get(fieldId) === value),
    recordMessage(m: Omit<SentMessage, 'id' | 'at'>): SentMessage {
      const message = { ...m, id: `msg-${nextMessage++}`, at: Date.now() };
      messages.push(message);
      return message;
    },
    messages: () => messages,
    requests: () => requests,
    contacts: () => [...contacts.values()],
    reset() {
      contacts.clear();
      byPhone.clear();
      messages.length = 0;
      requests.length = 0;
      faults = { ...noFaults };
    },
  };
}

export type Store = ReturnType<typeof createStore>;

export function contactJson(c: StoredContact) {
  return {
    id: c.id,
    phone: c.phone,
    email: c.email,
    first_name: c.first_name,
    last_name: c.last_name,
    has_whatsapp: hasWhatsapp(c.phone),
    tags: [...c.tags],
    custom_fields: [...knownFields.values()].map((f) => ({
      id: f.id,
      name: f.name,
      type: f.type,
      value: c.fields.get(f.id) ?? null,
    })),
  };
}
