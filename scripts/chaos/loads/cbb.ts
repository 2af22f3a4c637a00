import { randomInt } from 'node:crypto';
import type { OrderInput } from '../../../lib/cbb/order';
import { cbbAdminToken } from '../../stack/secrets';
import { invariant, type Invariant } from '../invariants';
import { scaled, settled, type ChaosLoad, type LoadContext } from '../load';

/**
 * Orders through `POST /api/v1/orders`, synced to the local CBB server while it fails 10 %
 * of calls and rate-limits 5 %, as the partner's real API does on a bad day. Orders are
 * created through the whole chaos window, so some land while Temporal or Postgres is down.
 */
interface CbbContact {
  id: string;
  phone: string;
}
interface CbbMessage {
  contactId: string;
  params: Record<string, string>;
}

const faults = { errorRate: 0.1, rateLimitRate: 0.05 };

function admin(ctx: LoadContext) {
  const base = `http://127.0.0.1:${ctx.s.ports.cbb}/_admin`;
  const headers = { authorization: `Bearer ${cbbAdminToken(ctx.s)}`, 'content-type': 'application/json' };
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`the CBB server's ${path} answered ${res.status}`);
    return (await res.json()) as T;
  };
  return {
    contacts: () => get<CbbContact[]>('/contacts'),
    messages: () => get<CbbMessage[]>('/messages'),
    faults: async (f: Record<string, number>) => {
      await fetch(`${base}/faults`, {
        method: 'PUT',
        headers,
        body: JSON.stringify(f),
        signal: AbortSignal.timeout(5000),
      });
    },
  };
}

/**
 * The sweep is what starts the sync of an order whose API start Temporal could not take, so
 * the run needs its Schedule unpaused (the test files pause it, and an operator may have).
 * The pause, with its note, is put back when the run stops.
 */
interface SweepPause {
  paused: boolean;
  note: string | null;
}
const sweepPath = '/api/v1/schedules/cbb-sweep';

async function unpauseSweep(ctx: LoadContext): Promise<SweepPause | undefined> {
  // The worker creates the Schedule as it starts: a 404 here is a worker not yet through its start.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await ctx.api.persist<SweepPause>('GET /api/v1/schedules/{id}', 'GET', sweepPath);
    if (res.status === 200) {
      if (!res.body.paused) return undefined;
      ctx.say(`unpausing the CBB sweep Schedule for the run (paused: ${res.body.note ?? 'no note'})`);
      const note = `unpaused by the chaos run ${ctx.tag}: it starts the syncs of orders that came while Temporal was down`;
      const done = await ctx.api.persist('POST /api/v1/schedules/{id}/unpause', 'POST', `${sweepPath}/unpause`, {
        note,
      });
      if (done.status !== 200) throw new Error(`could not unpause the CBB sweep Schedule: ${done.status}`);
      return res.body;
    }
    if (res.status !== 404 || Date.now() > deadline)
      throw new Error(`the CBB sweep Schedule could not be read: ${res.status}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function cbbLoad(): ChaosLoad {
  let pausedBefore: SweepPause | undefined;
  let total = 0;
  let sent = 0;
  const accepted = new Map<string, { id: string; phone: string }>();
  let refused = 0;

  function order(ctx: LoadContext, n: number): OrderInput {
    return {
      externalId: `${ctx.tag}-order-${n}`,
      branch: 'IL',
      isTest: false,
      customerName: 'Chaos Run',
      email: `chaos-${n}@example.com`,
      // One phone per order, so that "one contact each" is counted by phone; not from the seed,
      // which would give a second run with it the first one's phones (and contacts).
      phone: `+97254${String(randomInt(10_000_000)).padStart(7, '0')}`,
      whatsappAlerts: true,
      visa: { country: 'India', type: 'tourist', quantity: 1, entryDate: '2027-01-15' },
      amount: 120,
      currency: 'ILS',
      urgency: 'standard',
    };
  }

  /** An order is sent until the API answers it; its external id makes the retry safe (200: the same order). */
  async function send(ctx: LoadContext, input: OrderInput): Promise<void> {
    try {
      const res = await ctx.api.persist<{ order?: { id: string } }>(
        'POST /api/v1/orders',
        'POST',
        '/api/v1/orders',
        input,
      );
      if ((res.status === 201 || res.status === 200) && res.body.order)
        accepted.set(input.externalId, { id: String(res.body.order.id), phone: input.phone });
      else refused++;
    } catch {
      refused++;
    }
  }

  return {
    name: 'cbb',
    async start(ctx) {
      total = scaled(300, ctx.scale, 10);
      pausedBefore = await unpauseSweep(ctx);
      await admin(ctx).faults(faults);
      // A tenth up front, the rest spread over the window by `step`.
      const first = Math.ceil(total / 10);
      await Promise.all(Array.from({ length: first }, (_, i) => send(ctx, order(ctx, i))));
      sent = first;
    },
    async step(ctx, elapsedMs) {
      // A CBB server that was restarted forgot its fault knobs.
      await admin(ctx)
        .faults(faults)
        .catch(() => undefined);
      const due = Math.min(total, Math.ceil((total * elapsedMs) / ctx.windowMs));
      const batch: Promise<void>[] = [];
      for (; sent < due; sent++) batch.push(send(ctx, order(ctx, sent)));
      await Promise.all(batch);
    },
    async settle(ctx) {
      for (; sent < total; sent++) await send(ctx, order(ctx, sent));
      await admin(ctx)
        .faults({ errorRate: 0, rateLimitRate: 0 })
        .catch(() => undefined);
      // The sweep starts the syncs of orders that Temporal could not take when they came.
      await ctx.api
        .persist('POST /api/v1/schedules/{id}/trigger', 'POST', '/api/v1/schedules/cbb-sweep/trigger')
        .catch((err: unknown) => ctx.say(`could not trigger the CBB sweep: ${(err as Error).message}`));
      await settled(async () => (await pending(ctx)).length === 0, 300_000, 2000);
    },
    async stop(ctx) {
      if (!pausedBefore) return;
      const note = pausedBefore.note ?? `paused again after the chaos run ${ctx.tag}`;
      await ctx.api.persist('POST /api/v1/schedules/{id}/pause', 'POST', `${sweepPath}/pause`, { note });
    },
    async check(ctx) {
      const ids = [...accepted.values()].map((o) => o.id);
      const { rows } = await ctx.pool.query<{
        id: string;
        external_id: string;
        cbb_status: string;
        cbb_contact_id: string | null;
        whatsapp_status: string;
      }>(
        'SELECT id::text, external_id, cbb_status, cbb_contact_id, whatsapp_status FROM orders WHERE id = ANY($1::bigint[])',
        [ids],
      );
      const stored = new Map(rows.map((r) => [r.external_id, r]));
      const missing = [...accepted.keys()].filter((e) => !stored.has(e));
      const unsynced = rows.filter((r) => r.cbb_status !== 'synced' || !r.cbb_contact_id);
      const unconfirmedOrPending = rows.filter((r) => r.whatsapp_status === 'pending');
      const phones = new Set([...accepted.values()].map((o) => o.phone));
      const a = admin(ctx);
      const contacts = (await a.contacts()).filter((c) => phones.has(c.phone));
      const perPhone = new Map<string, number>();
      for (const c of contacts) perPhone.set(c.phone, (perPhone.get(c.phone) ?? 0) + 1);
      const doubled = [...perPhone].filter(([, n]) => n > 1);
      const perOrder = new Map<string, number>();
      for (const m of (await a.messages()).filter((m) => accepted.has(m.params.order_id)))
        perOrder.set(m.params.order_id, (perOrder.get(m.params.order_id) ?? 0) + 1);
      const twice = [...perOrder].filter(([, n]) => n > 1);
      const statuses = new Map<string, number>();
      for (const r of rows) statuses.set(r.whatsapp_status, (statuses.get(r.whatsapp_status) ?? 0) + 1);
      const checks: Invariant[] = [
        invariant(
          'orders: every order the API accepted is stored',
          missing.length === 0 && accepted.size > 0,
          `${accepted.size} of ${total} orders accepted (${refused} never accepted), ${stored.size} stored` +
            (missing.length ? `; missing: ${missing.slice(0, 5).join(', ')}` : ''),
        ),
        invariant(
          'orders: every stored order is synced to CBB, with its contact id',
          unsynced.length === 0,
          `${rows.length - unsynced.length} of ${rows.length} synced` +
            (unsynced.length
              ? `; not: ${unsynced
                  .slice(0, 5)
                  .map((r) => `${r.external_id} (${r.cbb_status})`)
                  .join(', ')}`
              : ''),
        ),
        invariant(
          'orders: no phone has two CBB contacts, no order two WhatsApp confirmations (in what the CBB server holds)',
          doubled.length === 0 && twice.length === 0,
          `${contacts.length} contacts for ${phones.size} phones, ${[...perOrder.values()].reduce((a, b) => a + b, 0)} confirmations` +
            (doubled.length
              ? `; phones with more: ${doubled
                  .slice(0, 5)
                  .map(([p, n]) => `${p}×${n}`)
                  .join(', ')}`
              : '') +
            (twice.length
              ? `; orders confirmed more than once: ${twice
                  .slice(0, 5)
                  .map(([o, n]) => `${o}×${n}`)
                  .join(', ')}`
              : ''),
        ),
        invariant(
          'orders: every confirmation ended (sent, skipped, unconfirmed or failed with its reason), none left pending',
          unconfirmedOrPending.length === 0,
          [...statuses].map(([s, n]) => `${s} ${n}`).join(', ') || 'no orders',
        ),
      ];
      return checks;
    },
  };

  async function pending(ctx: LoadContext) {
    const { rows } = await ctx.pool.query<{ id: string }>(
      `SELECT id::text FROM orders WHERE id = ANY($1::bigint[]) AND (cbb_status = 'pending' OR whatsapp_status = 'pending')`,
      [[...accepted.values()].map((o) => o.id)],
    );
    return rows;
  }
}
