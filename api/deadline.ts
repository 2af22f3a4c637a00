import type { Client } from '@temporalio/client';
import type { RequestHandler, Response } from 'express';
import { deadlineOf } from './request-deadline';

/**
 * Every Temporal call a request makes shares one deadline, so an unreachable server
 * answers 503 (DEADLINE_EXCEEDED, mapped in problem.ts) in bounded time instead of a
 * request that hangs through the client's own retries. The connection keeps the
 * deadline in async-local storage, so the calls need not pass it along; the response
 * keeps it too, for a route that shares it out between calls (api/updates/send.ts). The
 * deadline counts from the request's arrival, so time spent waiting for admission is not granted twice.
 */
export function temporalDeadline(client: Pick<Client, 'withDeadline'>, ms: number): RequestHandler {
  return (_req, res, next) => {
    const deadline = deadlineOf(res) ?? Date.now() + ms;
    res.locals.temporalDeadline = deadline;
    void client.withDeadline(
      deadline,
      () =>
        new Promise<void>((resolve) => {
          res.once('close', resolve);
          next();
        }),
    );
  };
}

/** When the request's Temporal calls must be done: the middleware's deadline, or `ms` from now outside it. */
export function requestDeadline(res: Response, ms: number): number {
  const deadline = res.locals.temporalDeadline;
  return typeof deadline === 'number' ? deadline : Date.now() + ms;
}
