import { isGrpcServiceError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const Stage = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;

/** How far Temporal has taken an update: admitted (held for a worker), accepted (its handler runs), completed. */
export type UpdateStage = 'admitted' | 'accepted' | 'completed';

const stageNames: Partial<Record<number, UpdateStage>> = {
  [Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED]: 'admitted',
  [Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED]: 'accepted',
  [Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED]: 'completed',
};

export interface KnownUpdate {
  stage: UpdateStage;
  runId?: string;
}

/**
 * Asks Temporal, without waiting for any worker, whether it holds update `updateId` of a
 * workflow and how far it has got; undefined when Temporal does not know it: it never
 * arrived, it was rejected (a rejection leaves no trace), or an admitted update was lost
 * when the server restarted before a worker accepted it. Any other error (Temporal
 * unreachable) is thrown: then nobody knows, and the caller must not say it was handed over.
 */
export async function updateStage(
  client: Client,
  namespace: string,
  ref: { workflowId: string; runId?: string; updateId: string },
  deadline: number,
): Promise<KnownUpdate | undefined> {
  try {
    const res = await client.withDeadline(deadline, () =>
      client.workflowService.pollWorkflowExecutionUpdate({
        namespace,
        identity: client.options.identity,
        updateRef: { workflowExecution: { workflowId: ref.workflowId, runId: ref.runId }, updateId: ref.updateId },
        waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED },
      }),
    );
    return {
      stage: stageNames[res.stage ?? 0] ?? 'admitted',
      runId: res.updateRef?.workflowExecution?.runId || ref.runId,
    };
  } catch (err) {
    // NOT_FOUND: the update (or the run named) is unknown to Temporal.
    if (isGrpcServiceError(err) && err.code === 5) return undefined;
    throw err;
  }
}
