import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Response } from 'express';
import { notFound } from '../../lib/errors';
import type { ApiContext } from '../context';
import { updateStage, type UpdateStage } from './stage';
import { updateDeadlines, within } from './within';

export interface UpdateRef {
  workflowId: string;
  runId?: string;
  updateId: string;
}

export type UpdateOutcome =
  | { status: 'completed'; result: unknown }
  | { status: 'failed'; failure: { message: string; type?: string } }
  | { status: 'pending'; stage: UpdateStage; runId?: string };

function unknownUpdate(ref: UpdateRef) {
  return notFound(
    `Temporal holds no update ${ref.updateId} of ${ref.workflowId}: it never arrived, it was refused (a refusal ` +
      'leaves no trace) or it was lost when Temporal restarted before a worker took it; send the request again',
  );
}

function failureOf(err: WorkflowUpdateFailedError): { message: string; type?: string } {
  const cause = err.cause as (Error & { type?: string }) | undefined;
  return { message: cause?.message ?? err.message, type: cause?.type ?? cause?.name };
}

/**
 * The outcome of an update sent earlier, waited for within the request's deadline; a
 * 404 (unknownUpdate) when Temporal holds no such update. The caller has checked that
 * the workflow exists and that the key may read it: a "not found" here is the update's.
 */
export async function followUpdate(ctx: ApiContext, res: Response, ref: UpdateRef): Promise<UpdateOutcome> {
  const { client } = ctx;
  const { answerBy, deadline } = updateDeadlines(ctx, res);
  const handle = client.workflow.getHandle(ref.workflowId, ref.runId).getUpdateHandle(ref.updateId);
  try {
    const done = await within(client, answerBy, () => handle.result());
    if (done) return { status: 'completed', result: done.value };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return { status: 'failed', failure: failureOf(err) };
    if (err instanceof WorkflowNotFoundError) throw unknownUpdate(ref);
    throw err;
  }
  const known = await updateStage(client, ctx.config.temporal.namespace, ref, deadline);
  if (!known) throw unknownUpdate(ref);
  return { status: 'pending', ...known };
}
