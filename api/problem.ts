import {
  QueryNotRegisteredError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
} from '@temporalio/client';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { AppError, type ErrorType } from '../lib/errors';

/** Errors leave the API as RFC 9457 problem documents; this is the one place that maps them. */

const statusOf: Record<ErrorType, number> = {
  ValidationError: 400,
  Unauthorized: 401,
  NotFound: 404,
  Conflict: 409,
  Upstream: 502,
  Unavailable: 503,
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
  [extension: string]: unknown;
}

export function zodProblemErrors(err: ZodError): { field: string; message: string }[] {
  return err.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
}

export function toProblem(err: unknown): Problem {
  if (err instanceof ZodError) {
    const errors = zodProblemErrors(err);
    return {
      type: 'about:blank#ValidationError',
      title: 'Invalid request',
      status: 400,
      detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      errors,
    };
  }
  if (err instanceof AppError) {
    return {
      type: `about:blank#${err.type}`,
      title: err.type,
      status: statusOf[err.type],
      detail: err.message,
      ...err.details,
    };
  }
  if (err instanceof WorkflowNotFoundError) {
    return {
      type: 'about:blank#NotFound',
      title: 'NotFound',
      status: 404,
      detail: `workflow ${err.workflowId} not found`,
    };
  }
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return {
      type: 'about:blank#Conflict',
      title: 'Conflict',
      status: 409,
      detail: `workflow ${err.workflowId} is already running`,
    };
  }
  if (err instanceof QueryNotRegisteredError) {
    return { type: 'about:blank#ValidationError', title: 'ValidationError', status: 400, detail: err.message };
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause instanceof Error ? err.cause.message : err.message;
    return { type: 'about:blank#Conflict', title: 'Update rejected', status: 409, detail: cause };
  }
  if (isGrpcServiceError(err)) {
    // gRPC codes: 3 invalid argument, 5 not found, 6 already exists, 9 failed precondition, 14 unavailable, 4 deadline.
    const byCode: Record<number, [number, string]> = {
      3: [400, 'ValidationError'],
      5: [404, 'NotFound'],
      6: [409, 'Conflict'],
      9: [409, 'Conflict'],
      4: [503, 'Unavailable'],
      14: [503, 'Unavailable'],
    };
    const [status, title] = byCode[err.code ?? -1] ?? [502, 'Upstream'];
    return { type: `about:blank#${title}`, title, status, detail: `Temporal: ${err.details || err.message}` };
  }
  if (err instanceof SyntaxError && 'body' in err) {
    return {
      type: 'about:blank#ValidationError',
      title: 'Invalid JSON',
      status: 400,
      detail: `request body is not valid JSON: ${err.message}`,
    };
  }
  return {
    type: 'about:blank#Internal',
    title: 'Internal',
    status: 500,
    detail: 'internal error; the request id finds it in the logs',
  };
}

export const problemHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const problem = { ...toProblem(err), instance: req.originalUrl, requestId: String(req.id ?? '') };
  if (problem.status >= 500) req.log?.error({ err }, problem.detail);
  else req.log?.info({ status: problem.status, detail: problem.detail }, 'request rejected');
  res.status(problem.status).type('application/problem+json').json(problem);
};

export const notFoundHandler: RequestHandler = (req, res) => {
  res
    .status(404)
    .type('application/problem+json')
    .json({
      type: 'about:blank#NotFound',
      title: 'NotFound',
      status: 404,
      detail: `no route ${req.method} ${req.path}`,
      instance: req.originalUrl,
    });
};
