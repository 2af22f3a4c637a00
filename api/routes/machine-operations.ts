import { WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import type { Request } from 'express';
import { AppError, conflict, notFound } from '../../lib/errors';
import { operationUpdates, vmWorkflowId, type OperationName, type OperationResult } from '../../lib/vm/contract';
import { vmErrorCodes, vmErrorKinds, type VmErrorCode } from '../../lib/vm/errors';
import { getMachine, type MachineRecord } from '../../store/vm/machines';
import type { ApiContext } from '../context';

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

/**
 * Sends the operation as an update. Accepted or refused is known at once; the result is
 * awaited for half the request's deadline, after which the answer is 202 and the
 * operation goes on in its turn.
 */
export async function operate(
  ctx: ApiContext,
  machine: MachineRecord,
  op: OperationName,
  args: unknown,
  req: Request,
): Promise<{ status: number; body: object }> {
  const handle = ctx.client.workflow.getHandle(vmWorkflowId(machine.id));
  const started = Date.now();
  const update = await handle.startUpdate(operationUpdates[op] as typeof operationUpdates.start, {
    args: [args as never],
    waitForStage: WorkflowUpdateStage.ACCEPTED,
  });
  const waitMs = Math.max(0, ctx.config.api.deadlineMs / 2 - (Date.now() - started));
  const outcome = await Promise.race([
    update.result().then(
      (result: OperationResult) => ({ result }),
      (error: unknown) => ({ error }),
    ),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), waitMs).unref()),
  ]);
  if (!outcome) {
    req.log.info({ machineId: machine.id, op, updateId: update.updateId }, 'operation accepted, still running');
    return {
      status: 202,
      body: { machineId: machine.id, operation: op, updateId: update.updateId, status: 'accepted' },
    };
  }
  if ('error' in outcome) {
    throw outcome.error instanceof WorkflowUpdateFailedError ? fromUpdateFailure(outcome.error) : outcome.error;
  }
  const fresh = await machineOr404(ctx, machine.id);
  return {
    status: 200,
    body: { machineId: machine.id, operation: op, result: outcome.result, machine: machineView(fresh) },
  };
}
