import type { Response } from 'express';
import type { UpdateOutcome, UpdateRef } from './follow';
import type { PendingUpdate } from './send';

/** Where a client follows a pending update: the workflow's (or its resource's) status, and the update's outcome. */
export interface FollowLinks {
  workflow: string;
  update: string;
}

/** Seconds a client is asked to wait before following a pending update. */
export const followAfterSeconds = 2;

/**
 * 202: Temporal holds the update and no worker has answered it yet; it runs when one
 * does. The body and `Location` say where to follow it.
 */
export function answerPending(res: Response, pending: PendingUpdate, follow: FollowLinks, extra: object = {}): void {
  const { workflowId, runId, update, updateId, stage } = pending;
  res
    .status(202)
    .location(follow.update)
    .setHeader('Retry-After', String(followAfterSeconds))
    .json({ ...extra, status: 'pending', workflowId, runId, update, updateId, stage, follow });
}

/** An update's outcome: 200 once it completed or failed, 202 with Retry-After while it is pending. */
export function answerOutcome(res: Response, ref: UpdateRef, outcome: UpdateOutcome, follow: FollowLinks): void {
  const body = { workflowId: ref.workflowId, updateId: ref.updateId, ...outcome, follow };
  if (outcome.status === 'pending') res.status(202).setHeader('Retry-After', String(followAfterSeconds));
  res.json(body);
}
