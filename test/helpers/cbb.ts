import { randomInt } from 'node:crypto';
import type { Faults, LoggedRequest, SentMessage } from '../../scripts/cbb-server/store';
import type { OrderInput } from '../../lib/cbb/order';
import type { Pool } from '../../lib/infra/db';
import { insertOrder } from '../../store/cbb/orders';

/**
 * The local CBB server's admin side (request log, counts, fault knobs), as tests use it,
 * with the admin token the stack gave the server (CBB_ADMIN_TOKEN in the tests' config).
 */
export function cbbAdmin(cbb: { baseUrl: string; adminToken?: string }) {
  const root = cbb.baseUrl.replace(/\/api$/, '');
  const auth = { authorization: `Bearer ${cbb.adminToken ?? ''}` };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${root}/_admin${path}`, {
      method,
      headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`CBB admin ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    reset: () => call('POST', '/reset'),
    faults: (f: Partial<Faults>) => call<Faults>('PUT', '/faults', f),
    requests: () => call<LoggedRequest[]>('GET', '/requests'),
    messages: () => call<SentMessage[]>('GET', '/messages'),
    forgetContact: (id: string) => call('DELETE', `/contacts/${id}`),
    contacts: () =>
      call<
        {
          id: string;
          phone: string;
          first_name: string;
          custom_fields: { id: string; name: string; value: string | null }[];
        }[]
      >('GET', '/contacts'),
  };
}

let seq = 0;
/**
 * A valid IL order with a unique external id and phone (random: test files of one run
 * share a process and the local CBB server, and count only their own phones' traffic);
 * override what the test needs.
 */
export function orderFixture(over: Partial<OrderInput> = {}): OrderInput {
  seq++;
  const n = `${Date.now() % 1_000_000}`.padStart(6, '0');
  return {
    externalId: `IT-${process.pid}-${n}-${randomInt(1_000_000)}-${seq}`,
    branch: 'IL',
    isTest: false,
    customerName: 'Dana Levi',
    email: 'dana@example.com',
    phone: `+97252${String(randomInt(10_000_000)).padStart(7, '0')}`,
    whatsappAlerts: true,
    visa: { country: 'India', type: 'tourist', quantity: 1, entryDate: '2026-12-24' },
    amount: 120,
    currency: 'ILS',
    urgency: 'standard',
    ...over,
  };
}

export async function createOrder(pool: Pool, over: Partial<OrderInput> = {}): Promise<string> {
  return (await insertOrder(pool, orderFixture(over))).order.id;
}

/**
 * What the local CBB server received for these phones only: their contacts, the
 * messages sent to those contacts, and the requests that named the phone or the
 * contact. Other test files share the server; their traffic is not counted.
 */
export async function cbbTrafficOf(admin: ReturnType<typeof cbbAdmin>, phones: Iterable<string | null | undefined>) {
  const own = new Set([...phones].filter((p): p is string => !!p));
  const contacts = (await admin.contacts()).filter((c) => own.has(c.phone));
  const ids = new Set(contacts.map((c) => c.id));
  const requests = (await admin.requests()).filter(
    (r) => (r.phone !== undefined && own.has(r.phone)) || (r.contactId !== undefined && ids.has(r.contactId)),
  );
  const messages = (await admin.messages()).filter((m) => ids.has(m.contactId));
  return { contacts, requests, messages };
}

/** Leaves none of these orders pending, so no later sweep of another file picks them up. */
export async function settleOrders(
  db: { query(text: string, values: unknown[]): Promise<unknown> },
  ids: string[],
): Promise<void> {
  await db.query("UPDATE orders SET cbb_status = 'skipped' WHERE id = ANY($1) AND cbb_status = 'pending'", [ids]);
}
