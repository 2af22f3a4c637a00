import { Context, log as activityLog } from '@temporalio/activity';
import type { Pool } from '../../lib/infra/db';
import type { Logger } from '../../lib/infra/logger';
import { errorMessage } from '../../lib/errors';
import { vmErrorCode, vmErrorKinds } from '../../lib/vm/errors';
import type { MachineRef, OperationOutcome } from '../../lib/vm/contract';
import { insertEvents } from '../../store/vm/events';
import { updateMachine } from '../../store/vm/machines';
import type { VmAdapter } from './adapter';
import { dedupeKey, heartbeating } from './attempt';
import type { VmMetrics } from './metrics';

/**
 * The frame of every libvirt operation activity, so none can forget a part of it: the
 * heartbeat while libvirt works, the machine's row and keyed event for the outcome, the
 * metric, and for a failure its code and severity, recorded before the error is rethrown
 * for Temporal's retry.
 */
export type RecordedOperation = (
  ref: MachineRef,
  type: string,
  run: (ctx: Context) => Promise<Partial<OperationOutcome> | void>,
  details?: Record<string, unknown>,
) => Promise<OperationOutcome>;

export function createRecordedOperation(deps: {
  pool: Pool;
  log: Logger;
  metrics: VmMetrics;
  adapter: VmAdapter;
}): RecordedOperation {
  const { pool, log, metrics, adapter } = deps;

  /** Runs one libvirt operation; records its outcome or its error (code and severity) on the machine. */
  return async function operation(ref, type, run, details = {}) {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const outcome = await heartbeating(async (ctx) => {
        const done = (await run(ctx)) ?? {};
        return { ...done, observed: done.observed ?? (await adapter.state(ref.name)) };
      });
      await updateMachine(pool, ref.machineId, { observedState: outcome.observed, lastError: null });
      const forced = outcome.forced ? ' (the guest ignored ACPI: destroyed after the timeout)' : '';
      await insertEvents(pool, [
        {
          machineId: ref.machineId,
          type,
          outcome: 'ok',
          message: `${type}: ${outcome.observed}${forced}`,
          details: { ...details, ...outcome },
          dedupeKey: dedupeKey('ok'),
        },
      ]);
      metrics.operation(type, 'ok', seconds());
      activityLog.info('VM operation done', { machineId: ref.machineId, operation: type, observed: outcome.observed });
      return outcome;
    } catch (err) {
      const code = vmErrorCode(err) ?? 'MACHINE_OPERATION_FAILED';
      const message = errorMessage(err);
      metrics.operation(type, 'error', seconds(), code);
      log.warn(
        { machineId: ref.machineId, name: ref.name, operation: type, code, err: message },
        'VM operation failed',
      );
      // The error is the one to report; a database that is down as well must not hide it.
      await insertEvents(pool, [
        {
          machineId: ref.machineId,
          type,
          outcome: 'error',
          code,
          severity: vmErrorKinds[code].severity,
          message,
          details: { ...details, attempt: Context.current().info.attempt },
          dedupeKey: dedupeKey('error'),
        },
      ]).catch((dbErr: unknown) => log.error({ err: errorMessage(dbErr) }, 'VM error not recorded'));
      throw err;
    }
  };
}
