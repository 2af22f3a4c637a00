import type { Request } from 'express';
import { correlationMemoKey } from '../lib/correlation';
import type { ApiContext } from './context';

/** Options every workflow started by the API shares: its task queue and the request's correlation id. */
export function startOptions(ctx: ApiContext, req: Request) {
  return {
    taskQueue: ctx.config.temporal.taskQueue,
    memo: { [correlationMemoKey]: String(req.id) },
  };
}
