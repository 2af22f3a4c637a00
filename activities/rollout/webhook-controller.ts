import { AppError, errorMessage, type ErrorType } from '../../lib/errors';
import type { OutboundPolicy } from '../../lib/infra/outbound/policy';
import { OutboundTimeout, outboundRequest } from '../../lib/infra/outbound/request';
import { systemResolve, vetOutbound, type Resolve } from '../../lib/infra/outbound/vet';
import type { TrafficController } from './types';

export interface WebhookTarget {
  url: string;
  target: string;
  timeoutMs: number;
  /** Which URLs may be called (OUTBOUND_ALLOW, OUTBOUND_ALLOW_PRIVATE). */
  policy: OutboundPolicy;
  /**
   * Sent as a bearer token when set (from the worker's configuration, never from a spec),
   * and only to a host that OUTBOUND_ALLOW names: a `*` entry reaches a host without it.
   */
  token?: string;
  /** Name resolution; the system's unless a test stands in for DNS. */
  resolve?: Resolve;
}

/**
 * Traffic through any router that takes a webhook, as Flagger's: setWeight POSTs
 * `{ target, weight }` and getWeight GETs `{ weight }` from the same URL. A non-2xx answer
 * is a failed step: 4xx is permanent (a retry sends the same request), except 408 and 429;
 * 5xx, timeouts and refused connections are transient. The weight is absolute, so a
 * retried POST leaves the router where one POST would. Every call is held to the outbound
 * policy first (docs/rollout.md, Outbound URLs); a refusal sends nothing.
 */
export function createWebhookController(w: WebhookTarget): TrafficController {
  const call = async (method: 'GET' | 'POST', body?: unknown): Promise<string> => {
    // Checked before every call, not once: the name may resolve elsewhere by now.
    const target = await vetOutbound(w.policy, w.url, w.resolve ?? systemResolve).catch((err: unknown) => {
      const type = err instanceof AppError ? err.type : 'Internal';
      throw new AppError(type, `webhook ${method} ${w.url} refused: ${errorMessage(err)}`);
    });
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(w.token && target.named ? { authorization: `Bearer ${w.token}` } : {}),
    };
    let res: Awaited<ReturnType<typeof outboundRequest>>;
    try {
      res = await outboundRequest(target, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: w.timeoutMs,
      });
    } catch (err) {
      throw new AppError(
        'Unavailable',
        err instanceof OutboundTimeout
          ? `webhook ${method} ${w.url} did not answer within ${w.timeoutMs} ms`
          : `webhook ${method} ${w.url}: ${errorMessage(err)}`,
      );
    }
    if (res.status >= 300 && res.status < 400) {
      // A redirect could lead anywhere, a private address included: the router's URL is the one in the spec.
      throw new AppError(
        'ValidationError',
        `webhook ${method} ${w.url}: HTTP ${res.status} redirect, which is not followed; put the final URL in the spec`,
        { upstreamStatus: res.status },
      );
    }
    if (res.status < 200 || res.status >= 300) {
      throw statusError(method, w.url, res.status, res.text, headerText(res.headers['retry-after']));
    }
    return res.text;
  };
  return {
    async setWeight(weight) {
      await call('POST', { target: w.target, weight });
    },
    async getWeight() {
      const text = await call('GET');
      let weight: unknown;
      try {
        weight = (JSON.parse(text) as { weight?: unknown }).weight;
      } catch {
        weight = undefined;
      }
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) {
        throw new AppError(
          'Upstream',
          `webhook GET ${w.url} must answer {"weight": 0..100}, got ${text.slice(0, 200) || 'nothing'}`,
        );
      }
      return weight;
    },
  };
}

const headerText = (h: string | string[] | undefined): string | null => (Array.isArray(h) ? h[0] : h) ?? null;

function statusError(method: string, url: string, status: number, body: string, retryAfter: string | null): AppError {
  const text = `webhook ${method} ${url}: HTTP ${status}${body ? ` ${body.slice(0, 200)}` : ''}`;
  if (status === 429 || status === 408) {
    const seconds = Number(retryAfter);
    return new AppError('Unavailable', text, {
      upstreamStatus: status,
      ...(seconds > 0 ? { retryAfterSeconds: seconds } : {}),
    });
  }
  if (status >= 500) return new AppError('Upstream', text, { upstreamStatus: status });
  const type: ErrorType =
    status === 401 || status === 403
      ? 'Unauthorized'
      : status === 404
        ? 'NotFound'
        : status === 409
          ? 'Conflict'
          : 'ValidationError';
  return new AppError(type, text, { upstreamStatus: status });
}
