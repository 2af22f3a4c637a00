import { ApplicationFailure, TemporalFailure, isCancellation, log, setHandler } from '@temporalio/workflow';
import { cbbSyncProgress, type CbbSyncInput, type CbbSyncResult } from '../lib/cbb/contract';
import { OrderSync, cbb } from './cbb-sync-steps';

/**
 * One order to CBB: load it, skip it or refuse it with a recorded reason, find or
 * create its contact, set every custom field (on existing contacts too), mark it
 * synced once all are set, then send the WhatsApp confirmation once, when the
 * customer wants alerts and the contact has WhatsApp. Id: `cbb-sync-order-<id>`.
 *
 * Local activities: each step runs in the worker that runs the workflow, and the whole
 * sync is usually one workflow task whose results are recorded as markers. Regular
 * activities cost the server a task, a dispatch and a completion per step, and the
 * server, not CBB, bounded the throughput. Every step is safe to run twice, which a
 * local activity needs: a worker lost mid-task makes the next one run the steps again
 * from the last recorded marker. Backoffs longer than a few seconds become durable
 * timers in the history.
 *
 * A 429 with a Retry-After (RateLimited) is not retried by the policy, whose timer the
 * workflow never sees: the workflow waits it out on its own timer, so the run's current
 * details can say until when, then runs the step again.
 */
export async function cbbSyncOrder({ orderId }: CbbSyncInput): Promise<CbbSyncResult> {
  const run = new OrderSync(orderId);
  const { progress } = run;
  setHandler(cbbSyncProgress, () => progress);
  run.step('loading', `loading order ${orderId}`);

  let result: CbbSyncResult;
  try {
    const plan = await cbb.loadOrderForSync(orderId);
    if (plan.action !== 'sync') {
      const kind = plan.action === 'skip' ? 'skipped' : 'invalid';
      await cbb.settleOrder(orderId, { kind, reason: plan.reason });
      progress.reason = plan.reason;
      run.status(kind === 'skipped' ? 'skipped' : 'failed');
      run.step('done', `${kind}: ${plan.reason}`);
      result = { orderId, status: progress.status, reason: plan.reason };
    } else {
      result = await run.sync(plan);
    }
  } catch (err) {
    if (!(err instanceof TemporalFailure) || isCancellation(err)) throw err;
    throw await run.failed(err);
  }
  run.publish();
  // One line per sync, with the correlation id the interceptor adds; nothing per step.
  log.info('order sync ended', {
    orderId,
    status: result.status,
    confirmation: result.confirmation,
    reason: result.reason,
  });
  if (result.status === 'failed')
    throw ApplicationFailure.nonRetryable(`order ${orderId} cannot go to CBB: ${result.reason}`, 'InvalidOrder');
  return result;
}
