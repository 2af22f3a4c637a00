import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { contactJson, fieldIdOf, invalidForType, knownFields, type Faults, type Store } from './store';

/**
 * A stand-in for CBB (app.chatgptbuilder.io/api), which cannot be reached from here:
 * the same routes, the same X-ACCESS-TOKEN header and the same quirks (errors as
 * HTTP 200 `{success: false}`, name and email fixed at creation, unknown fields in
 * creation actions silently dropped). `/_admin` is ours: request log, counts, fault knobs,
 * and forgetting a contact (what a restart does to every one).
 * It holds customers' phone numbers and can reset the server, so every admin route but
 * the readiness probe (`/_admin/health`, which tells nothing) takes the admin token as a
 * bearer token.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fail = (res: Response, message: string, status = 200) => res.status(status).json({ success: false, message });

function routeOf(req: Request): string {
  const path = req.path
    .replace(/\/contacts\/\d+/, '/contacts/:id')
    .replace(/custom_fields\/[^/]+$/, 'custom_fields/:field');
  return `${req.method} ${path}`;
}

function phoneOf(req: Request): string | undefined {
  if (req.query.field_id === 'phone' && typeof req.query.value === 'string') return req.query.value;
  const body = req.body as { phone?: unknown } | undefined;
  return typeof body?.phone === 'string' ? body.phone : undefined;
}

function faultInjection(store: Store) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const f: Faults = store.faults;
    const contactId = /\/contacts\/(\d+)/.exec(req.path)?.[1];
    const phone = phoneOf(req);
    const log = (fault?: string) =>
      res.on('finish', () =>
        store.log({ method: req.method, route: routeOf(req), status: res.statusCode, contactId, phone, fault }),
      );
    if (f.latencyMs > 0) await sleep(f.latencyMs);
    const roll = Math.random();
    let edge = f.timeoutRate;
    if (roll < edge) {
      store.log({ method: req.method, route: routeOf(req), status: 0, contactId, phone, fault: 'timeout' });
      return; // never answered; the client gives up
    }
    if (roll < (edge += f.rateLimitRate)) {
      log('429');
      return res
        .status(429)
        .set('Retry-After', String(f.retryAfterSeconds))
        .json({ success: false, message: 'Too Many Requests' });
    }
    if (roll < (edge += f.errorRate)) {
      log('500');
      return res.status(500).json({ success: false, message: 'Internal Server Error' });
    }
    if (roll < (edge += f.softErrorRate)) {
      log('soft');
      return fail(res, 'Service temporarily unavailable, try again');
    }
    log();
    next();
  };
}

/** Compared as digests of equal length, so the time taken says nothing about the token. */
function adminAuth(token: string) {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  const expected = digest(`Bearer ${token}`);
  return (req: Request, res: Response, next: NextFunction) => {
    if (timingSafeEqual(digest(req.get('authorization') ?? ''), expected)) return next();
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer realm="cbb-admin"')
      .json({ error: 'the admin routes need Authorization: Bearer <CBB_ADMIN_TOKEN>' });
  };
}

export function createCbbApp(store: Store, apiKey: string, adminToken: string): express.Express {
  if (!adminToken) throw new Error('the local CBB server needs an admin token (CBB_ADMIN_TOKEN)');
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));
  app.use(express.urlencoded({ extended: false }));

  app.get('/_admin/health', (_req, res) => res.json({ status: 'ok' }));
  app.use('/_admin', adminAuth(adminToken));
  app.get('/_admin/faults', (_req, res) => res.json(store.faults));
  app.put('/_admin/faults', (req, res) => {
    const update: Partial<Faults> = {};
    for (const [k, v] of Object.entries(req.body ?? {})) {
      if (!(k in store.faults) || typeof v !== 'number' || v < 0)
        return res.status(400).json({ error: `bad fault ${k}: ${JSON.stringify(v)}` });
      update[k as keyof Faults] = v;
    }
    res.json(store.setFaults(update));
  });
  app.post('/_admin/reset', (_req, res) => {
    store.reset();
    res.json({ reset: true });
  });
  app.get('/_admin/requests', (_req, res) => res.json(store.requests()));
  app.get('/_admin/messages', (_req, res) => res.json(store.messages()));
  app.get('/_admin/contacts', (_req, res) => res.json(store.contacts().map(contactJson)));
  app.delete('/_admin/contacts/:id', (req, res) =>
    store.forgetContact(req.params.id)
      ? res.json({ forgotten: req.params.id })
      : res.status(404).json({ error: `no contact ${req.params.id}` }),
  );
  app.get('/_admin/stats', (_req, res) => {
    const byRoute: Record<string, number> = {};
    for (const r of store.requests()) byRoute[`${r.route} ${r.status}`] = (byRoute[`${r.route} ${r.status}`] ?? 0) + 1;
    res.json({
      contacts: store.contacts().length,
      messages: store.messages().length,
      requests: store.requests().length,
      byRoute,
    });
  });

  const api = express.Router();
  api.use((req, res, next) => {
    if (req.get('X-ACCESS-TOKEN') !== apiKey) {
      store.log({ method: req.method, route: routeOf(req), status: 401 });
      return fail(res, 'Unauthorized', 401);
    }
    next();
  });
  api.use(faultInjection(store));

  api.get('/contacts/find_by_custom_field', (req, res) => {
    const fieldId = String(req.query.field_id ?? '');
    const value = String(req.query.value ?? '');
    if (!fieldId || !value) return fail(res, 'field_id and value are required');
    const found = fieldId === 'phone' ? store.findByPhone(value) : store.findByField(fieldId, value);
    res.json({ success: true, data: found.slice(0, 100).map(contactJson) });
  });

  api.post('/contacts', (req, res) => {
    const b = req.body ?? {};
    if (typeof b.phone !== 'string' || !/^\+\d{6,15}$/.test(b.phone)) return fail(res, 'phone must be in E.164 format');
    const contact = store.createContact({
      phone: b.phone,
      email: typeof b.email === 'string' ? b.email : null,
      first_name: String(b.first_name ?? ''),
      last_name: String(b.last_name ?? ''),
    });
    for (const a of Array.isArray(b.actions) ? b.actions : []) {
      if (a?.action === 'add_tag' && typeof a.tag_name === 'string') contact.tags.add(a.tag_name);
      if (a?.action === 'set_field_value') {
        const id = fieldIdOf(String(a.field_name));
        const field = id ? knownFields.get(id) : undefined;
        // CBB's quirk: an action it cannot apply is dropped without a word.
        if (field && invalidForType(field.type, String(a.value)) === undefined)
          contact.fields.set(field.id, String(a.value));
      }
    }
    res.json({ success: true, data: contactJson(contact) });
  });

  api.get('/contacts/:id', (req, res) => {
    const contact = store.contact(req.params.id);
    if (!contact) return res.status(404).json({ success: false, message: 'Contact not found' });
    res.json({ success: true, data: contactJson(contact) });
  });

  api.post('/contacts/:id/custom_fields/:fieldId', (req, res) => {
    const contact = store.contact(req.params.id);
    if (!contact) return res.status(404).json({ success: false, message: 'Contact not found' });
    const field = knownFields.get(req.params.fieldId);
    if (!field) return fail(res, `Custom field ${req.params.fieldId} not found`);
    const value = req.body?.value;
    if (typeof value !== 'string') return fail(res, 'value is required');
    const invalid = invalidForType(field.type, value);
    if (invalid) return fail(res, `Invalid value for ${field.name}: ${invalid}`);
    contact.fields.set(field.id, value);
    res.json({ success: true });
  });

  api.post('/contacts/:id/send_content', (req, res) => {
    const contact = store.contact(req.params.id);
    if (!contact) return res.status(404).json({ success: false, message: 'Contact not found' });
    if (!contactJson(contact).has_whatsapp) return fail(res, 'Contact has no WhatsApp channel');
    const b = req.body ?? {};
    if (typeof b.template_name !== 'string') return fail(res, 'template_name is required');
    const params = typeof b.params === 'object' && b.params ? (b.params as Record<string, string>) : {};
    const message = store.recordMessage({ contactId: contact.id, template: b.template_name, params });
    res.json({ success: true, data: { message_id: message.id } });
  });

  app.use('/api', api);
  app.use((_req, res) => res.status(404).json({ success: false, message: 'Not found' }));
  return app;
}
