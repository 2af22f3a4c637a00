import type { UpdateDefinition } from '@temporalio/common';
import type { Response } from 'express';
import { AppError, errorMessage } from '../../lib/errors';
import type { ApiContext } from '../context';
import { setLateAnswer } from '../request-deadline';
import { updateStage, type UpdateStage } from './stage';
import { updateDeadlines, within } from './within';

export interface UpdateToSend {
  workflowId: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  update: UpdateDefinition<any, any, string> | string;
  args: unknown[];
  /** Chosen by the caller (./update-id.ts), so the update can be followed whatever happens to this request. */
  updateId: string;
}

export interface PendingUpdate {
  workflowId: string;
  runId?: string;
  update: string;
  updateId: string;
  stage: UpdateStage;
}

/** The update's result, or how far Temporal has taken it when no worker answered in time. */
export type UpdateAnswer<R> = { done: true; result: R } | ({ done: false } & PendingUpdate);

export const updateName = (u: UpdateToSend['update']): string => (typeof u === 'string' ? u : u.name);

const resend = 'send it again (with the same Idempotency-Key, a resend cannot run it twice)';

function notHandedOver(u: UpdateToSend, why: string): AppError {
  return new AppError(
    'Unavailable',
    `update ${u.updateId} (${updateName(u.update)}) of ${u.workflowId}: ${why}; ${resend}`,
    {
      updateId: u.updateId,
    },
  );
}

/**
 * Sends an update and waits for its result within the request's deadline (./within.ts).
 * A timeout alone does not tell "Temporal has it and no worker answered yet" (it runs
 * when a worker polls: the caller is told it is pending, and where to follow it) from
 * "Temporal never got it" (a 503: nothing was handed over), so Temporal is asked which.
 * A refused or failed update throws WorkflowUpdateFailedError, for the route to map.
 */
export async function sendUpdate<R>(ctx: ApiContext, res: Response, u: UpdateToSend): Promise<UpdateAnswer<R>> {
  const { client } = ctx;
  const { answerBy, deadline } = updateDeadlines(ctx, res);
  // A loaded machine can hold this past the request's deadline: the deadline's 503 then says what this one would.
  setLateAnswer(res, {
    detail: notHandedOver(u, `Temporal did not confirm it holds the update within the API's deadline`).message,
    extensions: { updateId: u.updateId },
  });
  const handle = client.workflow.getHandle(u.workflowId);
  const sent = await within(client, answerBy, () =>
    handle.executeUpdate<R, [unknown, ...unknown[]]>(u.update, {
      args: u.args as [unknown, ...unknown[]],
      updateId: u.updateId,
    }),
  );
  if (sent) return { done: true, result: sent.value };
  let known: Awaited<ReturnType<typeof updateStage>>;
  try {
    known = await updateStage(client, ctx.config.temporal.namespace, u, deadline);
  } catch (err) {
    throw notHandedOver(u, `Temporal is unavailable and did not confirm it holds the update (${errorMessage(err)})`);
  }
  if (!known) throw notHandedOver(u, 'Temporal does not hold it, nothing was handed over');
  const pending = {
    done: false as const,
    workflowId: u.workflowId,
    update: updateName(u.update),
    updateId: u.updateId,
    ...known,
  };
  if (known.stage !== 'completed') return pending;
  // Done between the timeout and the question: its outcome, if it can still be read in time.
  const result = await within(client, deadline, () => handle.getUpdateHandle<R>(u.updateId).result());
  return result ? { done: true, result: result.value } : pending;
}
