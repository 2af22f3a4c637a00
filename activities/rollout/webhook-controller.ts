import { AppError, type ErrorType } from '../../lib/errors';
import { causeOf, isTimeout } from './fetch-errors';
import type { TrafficController } from './types';

export interface WebhookTarget {
  url: string;
  target: string;
  timeoutMs: number;
  /** Sent as a bearer token when set (from the worker's configuration, never from a spec). */
  token?: string;
}

/**
 * Traffic through any router that takes a webhook, as Flagger's: setWeight POSTs
 * `{ target, weight }` and getWeight GETs `{ weight }` from the same URL. A non-2xx answer
 * is a failed step: 4xx is permanent (a retry sends the same request), except 408 and 429;
 * 5xx, timeouts and refused connections are transient. The weight is absolute, so a
 * retried POST leaves the router where one POST would.
 */
export function createWebhookController(w: WebhookTarget): TrafficController {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json',
    ...(w.token ? { authorization: `Bearer ${w.token}` } : {}),
  };
  const call = async (method: 'GET' | 'POST', body?: unknown): Promise<string> => {
    let res: Response;
    try {
      res = await fetch(w.url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(w.timeoutMs),
      });
    } catch (err) {
      const timedOut = isTimeout(err);
      throw new AppError(
        'Unavailable',
        timedOut
          ? `webhook ${method} ${w.url} did not answer within ${w.timeoutMs} ms`
          : `webhook ${method} ${w.url}: ${causeOf(err)}`,
      );
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) throw statusError(method, w.url, res.status, text, res.headers.get('retry-after'));
    return text;
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
