import { WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import type { Response } from 'express';
import type { ApiContext } from '../context';
import { requestDeadline } from '../deadline';

/** Below this, asking Temporal whether it holds an update could time out on a loaded machine. */
const minAskMs = 250;

/**
 * Kept back from the request's deadline for writing the answer: just before the deadline
 * the API's backstop (api/response-deadline.ts, 100 ms ahead) answers a bare 503, without
 * the update's id.
 */
const answerMarginMs = 200;

/**
 * The request's deadline shared out: waiting for an update's outcome until `answerBy`,
 * then, when none came, the last quarter (at least `minAskMs`) to ask Temporal whether it
 * holds the update, which is what tells "pending" from "never handed over"; all of it
 * ends `answerMarginMs` before the request's deadline.
 */
export function updateDeadlines(ctx: ApiContext, res: Response): { answerBy: number; deadline: number } {
  const deadline =
    requestDeadline(res, ctx.config.api.deadlineMs) - Math.min(answerMarginMs, ctx.config.api.deadlineMs / 10);
  return { answerBy: deadline - Math.max(minAskMs, (deadline - Date.now()) / 4), deadline };
}

/** Runs `call` until `deadline`: its value, or undefined when Temporal's client reports the deadline passed. */
export async function within<T>(
  client: Client,
  deadline: number,
  call: () => Promise<T>,
): Promise<{ value: T } | undefined> {
  try {
    return { value: await client.withDeadline(deadline, call) };
  } catch (err) {
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return undefined;
    throw err;
  }
}
