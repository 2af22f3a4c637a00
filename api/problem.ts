import {
  QueryNotRegisteredError,
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
} from '@temporalio/client';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { AppError, errorMessage, type ErrorType } from '../lib/errors';
import { redisOutageCause } from '../lib/infra/redis';
import { redactedUrl } from './access/redact-url';
import { answeredLate } from './request-deadline';

/**
 * Errors leave the API as RFC 9457 problem documents; this is the one place that maps
 * them. A 5xx means the API has a bug or a dependency is down, never that the request
 * was bad: every client error a dependency reports (Temporal, Postgres, the body
 * parser) is recognised here and answered 4xx with a detail the caller can act on.
 */

const statusOf: Record<ErrorType, number> = {
  ValidationError: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  Upstream: 502,
  Unavailable: 503,
  // A partner's rate limit, not the caller's: the API itself is unavailable for now.
  RateLimited: 503,
  Internal: 500,
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  requestId?: string;
  errors?: { field: string; message: string }[];
  /** Seconds; sent as the Retry-After header on 429 and 503. */
  retryAfter?: number;
  [extension: string]: unknown;
}

const problem = (status: number, title: string, detail: string, extra: Partial<Problem> = {}): Problem => ({
  type: `about:blank#${title}`,
  title,
  status,
  detail,
  ...extra,
});

/** How long a client should wait before retrying after an outage: a few seconds, the dependency restarts fast. */
const outageRetryAfter = 5;

/** Seconds: a request refused for load will likely find the API less busy a moment later. */
export const busyRetryAfter = 1;

/** The API itself is at its limit: the answer to shed load, the same wherever it is shed. */
export function busyProblem(detail: string, instance: string, requestId: string): Problem {
  return problem(503, 'Unavailable', detail, { instance, requestId, retryAfter: busyRetryAfter });
}

export function zodProblemErrors(err: ZodError): { field: string; message: string }[] {
  return err.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
}

/** gRPC status codes of Temporal's frontend, as HTTP. */
const grpcStatus: Record<number, [number, string]> = {
  3: [400, 'ValidationError'], // INVALID_ARGUMENT: a bad visibility query, a bad id
  5: [404, 'NotFound'],
  6: [409, 'Conflict'], // ALREADY_EXISTS
  9: [409, 'Conflict'], // FAILED_PRECONDITION: e.g. a signal to a closed workflow
  8: [429, 'TooManyRequests'], // RESOURCE_EXHAUSTED: the namespace's rate limit
  4: [503, 'Unavailable'], // DEADLINE_EXCEEDED
  14: [503, 'Unavailable'], // UNAVAILABLE
  1: [503, 'Unavailable'], // CANCELLED: our own deadline or a dropped connection
};

function fromGrpc(code: number | undefined, message: string): Problem {
  const [status, title] = grpcStatus[code ?? -1] ?? [502, 'Upstream'];
  const detail = status === 503 ? `Temporal is unavailable: ${message}` : `Temporal: ${message}`;
  return problem(status, title, detail, status === 503 || status === 429 ? { retryAfter: outageRetryAfter } : {});
}

/** Postgres SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
function fromPostgres(code: string, message: string): Problem | undefined {
  if (code === '23505') return problem(409, 'Conflict', `already exists: ${message}`);
  if (code.startsWith('22') || code === '23502' || code === '23514')
    return problem(400, 'ValidationError', `a value the database refuses: ${message}`);
  if (code === '57014')
    return problem(503, 'Unavailable', 'the database did not answer in time', { retryAfter: outageRetryAfter });
  if (code.startsWith('08') || code.startsWith('57P') || code === '53300')
    return problem(503, 'Unavailable', 'the database is unavailable', { retryAfter: outageRetryAfter });
  return undefined;
}

/** The body parser's errors carry their own status and a `type`. */
function fromBodyParser(err: { status?: number; type?: string; message: string }): Problem | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return problem(413, 'PayloadTooLarge', `the request body is larger than the API accepts: ${err.message}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return problem(415, 'UnsupportedMediaType', `${err.message}; send UTF-8 JSON without content-encoding`);
    case 'entity.parse.failed':
      return problem(400, 'ValidationError', `request body is not valid JSON: ${err.message}`);
    case 'entity.verify.failed':
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return problem(400, 'ValidationError', err.message);
  }
  if (err.status && err.status >= 400 && err.status < 500)
    return problem(err.status, 'BadRequest', `the request body could not be read: ${err.message}`);
  return undefined;
}

export function toProblem(err: unknown): Problem {
  if (err instanceof ZodError) {
    const errors = zodProblemErrors(err);
    return problem(400, 'ValidationError', errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
      title: 'Invalid request',
      errors,
    });
  }
  if (err instanceof AppError) {
    // A partner's rate limit passes its own Retry-After on to the caller.
    const partnerWait = Number(err.details?.retryAfterSeconds);
    const retryAfter =
      err.type === 'RateLimited' && partnerWait > 0
        ? Math.ceil(partnerWait)
        : err.type === 'Unavailable' || err.type === 'RateLimited'
          ? outageRetryAfter
          : undefined;
    return { ...problem(statusOf[err.type], err.type, err.message, { retryAfter }), ...err.details };
  }
  if (err instanceof WorkflowNotFoundError) return problem(404, 'NotFound', `workflow ${err.workflowId} not found`);
  if (err instanceof WorkflowExecutionAlreadyStartedError)
    return problem(409, 'Conflict', `workflow ${err.workflowId} is already running`);
  // The workflow has no query by that name: the thing asked for does not exist.
  if (err instanceof QueryNotRegisteredError) return problem(404, 'NotFound', err.message);
  // The routes that send updates ask Temporal whether it holds one that timed out (api/updates/send.ts),
  // and answer 202 when it does; a timeout that reaches this point was not checked, so nothing is claimed.
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
    return problem(
      503,
      'Unavailable',
      `Temporal did not answer the update in time, and whether it holds it is not known: ${err.message}`,
      { retryAfter: outageRetryAfter },
    );
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause instanceof Error ? err.cause.message : err.message;
    return problem(409, 'Conflict', cause, { title: 'Update rejected' });
  }
  // The client wraps gRPC errors in ServiceError; the code is on the cause.
  if (err instanceof ServiceError && isGrpcServiceError(err.cause))
    return fromGrpc(err.cause.code, err.cause.details || err.cause.message);
  if (isGrpcServiceError(err)) return fromGrpc(err.code, err.details || err.message);
  if (err instanceof URIError)
    return problem(400, 'ValidationError', `the path is not valid percent-encoding: ${err.message}`);
  // Before the generic connection errors below: ioredis's ECONNREFUSED is not the database's.
  if (redisOutageCause(err))
    return problem(503, 'Unavailable', 'the flag and cache store (Redis) is unavailable', {
      retryAfter: outageRetryAfter,
    });
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; status?: number; type?: string; message?: string; severity?: unknown };
    // pg's server errors have a five-character SQLSTATE and a severity.
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity !== undefined) {
      const mapped = fromPostgres(e.code, e.message ?? '');
      if (mapped) return mapped;
    }
    // The body parser's errors (http-errors: a status and `expose`), zlib's on a body that is not what it claims among them.
    if (typeof e.status === 'number' && (typeof e.type === 'string' || (e as { expose?: unknown }).expose === true)) {
      const mapped = fromBodyParser({ status: e.status, type: e.type, message: e.message ?? '' });
      if (mapped) return mapped;
    }
    // The pool's own errors when it cannot reach the server in time.
    const message = e.message ?? '';
    if (
      /timeout exceeded when trying to connect|Query read timeout|Connection terminated|ECONNREFUSED|connection timeout/i.test(
        message,
      ) ||
      e.code === 'ECONNREFUSED' ||
      e.code === 'ECONNRESET'
    )
      return problem(503, 'Unavailable', 'the database is unavailable', { retryAfter: outageRetryAfter });
  }
  return problem(500, 'Internal', 'internal error; the request id finds it in the logs');
}

function outageCause(err: unknown): string {
  const redis = redisOutageCause(err);
  if (redis) return redis;
  const code = (err as { code?: unknown } | undefined)?.code;
  const name = err instanceof Error ? err.name : typeof err;
  return `${name}${typeof code === 'string' || typeof code === 'number' ? ` (${code})` : ''}: ${errorMessage(err)}`;
}

export function sendProblem(res: Parameters<RequestHandler>[1], p: Problem): void {
  if (p.retryAfter !== undefined) res.setHeader('Retry-After', String(p.retryAfter));
  res.status(p.status).type('application/problem+json').json(p);
}

export const problemHandler: ErrorRequestHandler = (err, req, res, _next) => {
  // The deadline answered for this request already; what the handler met since (often the
  // refusal to write a second answer) is what a late handler meets, not a bug.
  if (answeredLate(res)) return req.log?.debug({ cause: outageCause(err) }, 'late handler finished after the deadline');
  const p = { ...toProblem(err), instance: redactedUrl(req.originalUrl), requestId: String(req.id ?? '') };
  // A dependency's outage is one line naming its cause: the error object of a driver can be huge
  // (ioredis's transaction errors hold every command's error, which refer back to each other).
  if (p.status === 503) req.log?.warn({ cause: outageCause(err) }, p.detail);
  else if (p.status >= 500) req.log?.error({ err }, p.detail);
  else req.log?.info({ status: p.status, detail: p.detail }, 'request rejected');
  if (res.headersSent) return res.end();
  sendProblem(res, p);
};

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, {
    ...problem(404, 'NotFound', `no route ${req.method} ${redactedUrl(req.path)}`),
    instance: redactedUrl(req.originalUrl),
  });
};
