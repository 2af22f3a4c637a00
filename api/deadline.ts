import type { Client } from '@temporalio/client';
import type { RequestHandler } from 'express';
import { deadlineOf } from './request-deadline';

/**
 * Every Temporal call a request makes shares one deadline, so an unreachable server
 * answers 503 (DEADLINE_EXCEEDED, mapped in problem.ts) in bounded time instead of a
 * request that hangs through the client's own retries. The connection keeps the
 * deadline in async-local storage, so the calls need not pass it along. The deadline
 * counts from the request's arrival, so time spent waiting for admission is not granted twice.
 */
export function temporalDeadline(client: Pick<Client, 'withDeadline'>, ms: number): RequestHandler {
  return (_req, res, next) => {
    void client.withDeadline(
      deadlineOf(res) ?? Date.now() + ms,
      () =>
        new Promise<void>((resolve) => {
          res.once('close', resolve);
          next();
        }),
    );
  };
}
