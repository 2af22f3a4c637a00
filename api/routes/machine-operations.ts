import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Request, Response } from 'express';
import { AppError, conflict, notFound } from '../../lib/errors';
import { operationUpdates, vmWorkflowId, type OperationName, type OperationResult } from '../../lib/vm/contract';
import { vmErrorCodes, vmErrorKinds, type VmErrorCode } from '../../lib/vm/errors';
import { getMachine, type MachineRecord } from '../../store/vm/machines';
import type { ApiContext } from '../context';
import { answerPending } from '../updates/answer';
import { followLinks } from '../updates/links';
import { sendUpdate, type UpdateAnswer } from '../updates/send';
import { updateIdFor } from '../updates/update-id';

/**
 * Operations on a machine are its workflow's updates: a request the machine's state cannot
 * take is refused by the update's validator, at once, as a 409 with the reason.
 */

export function machineView(m: MachineRecord) {
  return {
    id: m.id,
    name: m.name,
    templateId: m.templateId,
    owner: m.owner,
    description: m.description,
    metadata: m.metadata,
    runStrategy: m.runStrategy,
    status: m.status,
    desiredState: m.desiredState,
    observedState: m.observedState,
    stateReason: m.stateReason,
    libvirtUuid: m.libvirtUuid,
    lastError: m.lastError,
    observedAt: m.observedAt,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    deletedAt: m.deletedAt,
  };
}

export async function machineOr404(ctx: ApiContext, id: string): Promise<MachineRecord> {
  const m = await getMachine(ctx.pool, id);
  if (!m) throw notFound(`machine ${id} does not exist`);
  return m;
}

export function refuseIfClosed(m: MachineRecord, op: OperationName): void {
  if (m.status === 'deleted') throw notFound(`machine ${m.id} (${m.name}) was deleted at ${m.deletedAt}`);
  if (m.status === 'failed' && op !== 'delete') {
    throw conflict(
      `${op} refused: machine ${m.name} failed to provision (${m.lastError}); delete it and create it again`,
    );
  }
}

/** An operation that failed once running: its VM error code decides the status, as everywhere else. */
function fromUpdateFailure(err: WorkflowUpdateFailedError): AppError {
  const cause = err.cause as (Error & { type?: string }) | undefined;
  const message = cause?.message ?? err.message;
  const code = (vmErrorCodes as readonly string[]).includes(cause?.type ?? '')
    ? (cause?.type as VmErrorCode)
    : undefined;
  if (!code) return conflict(message);
  return new AppError(vmErrorKinds[code].type, message, { code, severity: vmErrorKinds[code].severity });
}

export const machineUpdatesBase = (id: string) => `/api/v1/machines/${id}/updates`;

/**
 * Sends the operation as its machine workflow's update and answers: 200 with the result
 * and the machine after it, 202 when Temporal holds it and no worker has answered yet (it
 * runs in its turn; the answer says where to follow it), 409 with the reason when refused.
 */
export async function operate(
  ctx: ApiContext,
  machine: MachineRecord,
  op: OperationName,
  args: unknown,
  req: Request,
  res: Response,
): Promise<void> {
  let answer: UpdateAnswer<OperationResult>;
  try {
    answer = await sendUpdate<OperationResult>(ctx, res, {
      workflowId: vmWorkflowId(machine.id),
      update: operationUpdates[op],
      args: [args],
      updateId: updateIdFor(req, res, op),
    });
  } catch (err) {
    throw err instanceof WorkflowUpdateFailedError ? fromUpdateFailure(err) : err;
  }
  if (!answer.done) {
    req.log.info({ machineId: machine.id, op, updateId: answer.updateId, stage: answer.stage }, 'operation pending');
    const follow = followLinks(
      `/api/v1/machines/${machine.id}`,
      machineUpdatesBase(machine.id),
      answer.updateId,
      answer.runId,
    );
    answerPending(res, answer, follow, { machineId: machine.id, operation: op });
    return;
  }
  const fresh = await machineOr404(ctx, machine.id);
  res.json({ machineId: machine.id, operation: op, result: answer.result, machine: machineView(fresh) });
}
