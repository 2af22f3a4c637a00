import type { RequestHandler } from 'express';
import { sendProblem } from '../problem';
import { queryCredentials, redactedUrl } from './redact-url';

/**
 * Credentials belong in the Authorization header: a URL is written to access logs,
 * proxies' logs and browser history. A request that carries one in its query is refused,
 * with the value left out of the answer and (./redact-url.ts) out of the logs.
 */
export const refuseQueryCredentials: RequestHandler = (req, res, next) => {
  const names = queryCredentials(req.originalUrl);
  if (names.length === 0) return next();
  sendProblem(res, {
    type: 'about:blank#ValidationError',
    title: 'ValidationError',
    status: 400,
    detail: `a credential in the query string is refused (${names.join(', ')}): send it as Authorization: Bearer <key>`,
    instance: redactedUrl(req.originalUrl),
    requestId: String(req.id ?? ''),
    errors: names.map((field) => ({ field, message: 'credentials are accepted in the Authorization header only' })),
  });
};
