import type { Workflow, WorkflowHandleWithFirstExecutionRunId, WorkflowStartOptions } from '@temporalio/client';
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

/**
 * Starts a workflow by its type name with the options above, counts it among the
 * workflows the API started, and times the wait on Temporal.
 */
export async function startWorkflow<W extends Workflow>(
  ctx: ApiContext,
  req: Request,
  type: string,
  options: Omit<WorkflowStartOptions<W>, 'taskQueue'>,
): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
  const end = ctx.metrics.startDuration.startTimer({ type });
  let outcome = 'failed';
  try {
    const handle = await ctx.client.workflow.start<W>(type, {
      ...startOptions(ctx, req),
      ...options,
    } as WorkflowStartOptions<W>);
    outcome = 'started';
    ctx.metrics.started.inc({ type });
    return handle;
  } finally {
    end({ outcome });
  }
}
