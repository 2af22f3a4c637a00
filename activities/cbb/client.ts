import { AppError } from '../../lib/errors';

/**
 * The CBB HTTP API, the part the sync uses. Every failure leaves as an AppError whose
 * type says whether a retry can help: CBB's `{success: false}` bodies (sent with HTTP
 * 200), 4xx other than 408/429 are permanent; 429, 408, 5xx, timeouts and refused
 * connections are transient. A 429 with a Retry-After is RateLimited, its wait in
 * retryAfterSeconds, so the sync can say what it waits for; one without is Unavailable.
 * The access token is only ever a request header: it is in no error and no log line.
 */

export interface CbbClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  /** Told of every request: its operation, the HTTP status (or why there was none) and how long it took. */
  observe?: (op: string, status: number | 'timeout' | 'network', seconds: number) => void;
}

export interface CbbContact {
  id: string;
  phone: string;
  /** Custom field values by CBB field id, as strings. */
  fields: Record<string, string>;
  hasWhatsapp: boolean;
}

export interface NewContact {
  phone: string;
  email?: string;
  firstName: string;
  lastName: string;
  fields: { name: string; value: string }[];
  tags: string[];
}

export interface WhatsappTemplate {
  template: string;
  language: string;
  params: Record<string, string>;
}

interface RawContact {
  id: string | number;
  phone?: string;
  custom_fields?: { id: string | number; value: unknown }[];
  has_whatsapp?: boolean;
}

/** Whether the request may have reached CBB before it failed: decides if a send may be repeated. */
export type Delivery = 'not-sent' | 'unknown';

export class CbbError extends AppError {
  constructor(
    type: 'ValidationError' | 'NotFound' | 'Unauthorized' | 'Upstream' | 'Unavailable' | 'RateLimited',
    message: string,
    readonly delivery: Delivery,
    details: Record<string, unknown> = {},
  ) {
    super(type, message, details);
  }
}

export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

function statusError(op: string, status: number, body: string, retryAfter: number | undefined): CbbError {
  const text = body.slice(0, 300);
  const details = { upstreamStatus: status };
  if (status === 429) {
    return new CbbError(retryAfter ? 'RateLimited' : 'Unavailable', `CBB ${op}: rate limited (429)`, 'not-sent', {
      ...details,
      retryAfterSeconds: retryAfter,
    });
  }
  if (status === 408 || status >= 500)
    return new CbbError('Upstream', `CBB ${op}: HTTP ${status} ${text}`, 'not-sent', details);
  if (status === 401 || status === 403)
    return new CbbError(
      'Unauthorized',
      `CBB ${op}: the access token was refused (HTTP ${status})`,
      'not-sent',
      details,
    );
  if (status === 404) return new CbbError('NotFound', `CBB ${op}: not found (HTTP 404) ${text}`, 'not-sent', details);
  return new CbbError('ValidationError', `CBB ${op}: rejected (HTTP ${status}) ${text}`, 'not-sent', details);
}

function toContact(raw: RawContact): CbbContact {
  const fields: Record<string, string> = {};
  for (const f of raw.custom_fields ?? [])
    if (f.value !== null && f.value !== undefined) fields[String(f.id)] = String(f.value);
  return { id: String(raw.id), phone: raw.phone ?? '', fields, hasWhatsapp: raw.has_whatsapp === true };
}

export function createCbbClient(opts: CbbClientOptions) {
  async function call<T>(
    op: string,
    method: string,
    path: string,
    body?: { json?: unknown; form?: Record<string, string> },
  ): Promise<T> {
    const headers: Record<string, string> = { 'X-ACCESS-TOKEN': opts.apiKey, accept: 'application/json' };
    let payload: string | undefined;
    if (body?.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body?.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(body.form).toString();
    }
    let res: Response;
    const started = performance.now();
    const observe = (status: number | 'timeout' | 'network') =>
      opts.observe?.(op, status, (performance.now() - started) / 1000);
    try {
      res = await fetch(`${opts.baseUrl}${path}`, {
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
    } catch (err) {
      // DOMException is not always an Error instance (jest realms), so go by name.
      const name = (err as { name?: string }).name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError';
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      // A refused connection never reached CBB; a timeout or a reset may have.
      const delivery: Delivery = cause === 'ECONNREFUSED' ? 'not-sent' : 'unknown';
      observe(timedOut ? 'timeout' : 'network');
      const what = timedOut
        ? `no answer within ${opts.timeoutMs} ms`
        : `connection failed (${cause ?? (err as Error).message})`;
      throw new CbbError('Unavailable', `CBB ${op}: ${what}`, delivery);
    }
    const text = await res.text().catch(() => '');
    observe(res.status);
    if (!res.ok) throw statusError(op, res.status, text, parseRetryAfter(res.headers.get('retry-after')));
    let parsed: { success?: boolean; message?: string; data?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new CbbError('Upstream', `CBB ${op}: answer is not JSON: ${text.slice(0, 200)}`, 'unknown');
    }
    if (parsed.success === false) {
      // CBB reports some errors as HTTP 200; only the ones that say so are worth retrying.
      const message = parsed.message ?? 'no message';
      const transient = /try again|temporar|rate|too many|timeout/i.test(message);
      throw new CbbError(transient ? 'Upstream' : 'ValidationError', `CBB ${op}: ${message}`, 'not-sent', {
        upstreamStatus: res.status,
      });
    }
    return (parsed.data ?? parsed) as T;
  }

  return {
    async findContactsByPhone(phone: string): Promise<CbbContact[]> {
      const q = new URLSearchParams({ field_id: 'phone', value: phone });
      const data = await call<RawContact[]>('find contact', 'GET', `/contacts/find_by_custom_field?${q}`);
      return (Array.isArray(data) ? data : []).map(toContact);
    },

    async createContact(c: NewContact): Promise<CbbContact> {
      const actions = [
        ...c.fields.map((f) => ({ action: 'set_field_value', field_name: f.name, value: f.value })),
        ...c.tags.map((t) => ({ action: 'add_tag', tag_name: t })),
      ];
      const data = await call<RawContact>('create contact', 'POST', '/contacts', {
        json: { phone: c.phone, email: c.email, first_name: c.firstName, last_name: c.lastName, actions },
      });
      return toContact(data);
    },

    async getContact(id: string): Promise<CbbContact> {
      return toContact(await call<RawContact>('get contact', 'GET', `/contacts/${encodeURIComponent(id)}`));
    },

    async setCustomField(contactId: string, fieldId: string, value: string): Promise<void> {
      await call(
        'set field',
        'POST',
        `/contacts/${encodeURIComponent(contactId)}/custom_fields/${encodeURIComponent(fieldId)}`,
        {
          form: { value },
        },
      );
    },

    async sendWhatsappTemplate(contactId: string, t: WhatsappTemplate): Promise<{ messageId?: string }> {
      const data = await call<{ message_id?: string }>(
        'send content',
        'POST',
        `/contacts/${encodeURIComponent(contactId)}/send_content`,
        {
          json: {
            channel: 'whatsapp',
            type: 'template',
            template_name: t.template,
            language: t.language,
            params: t.params,
          },
        },
      );
      return { messageId: data?.message_id };
    },
  };
}

export type CbbClient = ReturnType<typeof createCbbClient>;
