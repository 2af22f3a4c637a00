import {
  ApplicationFailure,
  TemporalFailure,
  isCancellation,
  log,
  patched,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createCbbActivities } from '../activities/cbb';
import {
  cbbSyncProgress,
  type CbbSyncInput,
  type CbbSyncProgress,
  type CbbSyncResult,
  type SyncStatus,
  type SyncStep,
} from '../lib/cbb/contract';
import { describeRateLimitWait, retryAfterOf } from '../lib/cbb/rate-limit';
import { isPermanent, rateLimitedType } from '../lib/errors';
import { searchAttributes } from '../lib/search-attributes';
import { applicationFailure, failureMessage, thrown } from './failure';

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
const maximumAttempts = 12;
const cbb = proxyLocalActivities<ReturnType<typeof createCbbActivities>>({
  // Each CBB call has its own 10 s timeout; a few run per activity.
  startToCloseTimeout: '45s',
  localRetryThreshold: '5s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts,
    // Permanent types are non-retryable already (the worker's interceptor marks them).
    nonRetryableErrorTypes: [rateLimitedType],
  },
});

/**
 * Set before the first wait a run takes itself: runs recorded before it retried a 429
 * inside the local activity's retry policy (the failure was then typed Unavailable).
 */
const rateLimitWaitPatch = 'cbb-sync-waits-out-429-in-workflow';

/** The Retry-After of a RateLimited failure of a step, in seconds. */
function rateLimitedFor(err: unknown): number | undefined {
  const failure = applicationFailure(err);
  if (failure?.type !== rateLimitedType) return undefined;
  return retryAfterOf(failure.details as unknown[] | undefined);
}

export async function cbbSyncOrder({ orderId }: CbbSyncInput): Promise<CbbSyncResult> {
  const progress: CbbSyncProgress = { orderId, step: 'loading', status: 'syncing' };
  setHandler(cbbSyncProgress, () => progress);
  // The search attributes change once, when the sync ends: its steps run within one
  // workflow task, so intermediate states would never be seen, and each upsert costs the
  // server a visibility write. Whoever starts the sync sets OrderId and SyncStatus=syncing.
  const publish = () =>
    upsertSearchAttributes([
      { key: searchAttributes.orderId, value: orderId },
      { key: searchAttributes.syncStatus, value: progress.status },
    ]);
  const status = (s: SyncStatus) => {
    progress.status = s;
  };
  let stepDetails = '';
  const step = (s: SyncStep, details: string) => {
    progress.step = s;
    stepDetails = details;
    setCurrentDetails(details);
  };
  // Runs a CBB step, waiting out each 429 on a durable timer (cancelled with the run) and
  // saying so; as many waits as the policy has attempts, then the 429 fails the step.
  const withRateLimitWaits = async <T>(call: () => Promise<T>): Promise<T> => {
    for (let waits = 0; ; waits++) {
      try {
        return await call();
      } catch (err) {
        const seconds = rateLimitedFor(err);
        if (seconds === undefined || waits >= maximumAttempts - 1 || !patched(rateLimitWaitPatch)) throw err;
        const ms = Math.ceil(seconds * 1000);
        setCurrentDetails(describeRateLimitWait(progress.step, Date.now() + ms, seconds));
        await sleep(ms);
        setCurrentDetails(stepDetails);
      }
    }
  };
  step('loading', `loading order ${orderId}`);

  let result: CbbSyncResult;
  try {
    const plan = await cbb.loadOrderForSync(orderId);
    if (plan.action !== 'sync') {
      const kind = plan.action === 'skip' ? 'skipped' : 'invalid';
      await cbb.settleOrder(orderId, { kind, reason: plan.reason });
      progress.reason = plan.reason;
      status(kind === 'skipped' ? 'skipped' : 'failed');
      step('done', `${kind}: ${plan.reason}`);
      result = { orderId, status: progress.status, reason: plan.reason };
    } else {
      step('contact', `finding or creating the CBB contact for ${plan.contact.phone}`);
      const { contactId } = await withRateLimitWaits(() => cbb.upsertCbbContact(orderId, plan.contact));
      progress.contactId = contactId;

      step('fields', `setting ${plan.contact.fields.length} custom fields on contact ${contactId}`);
      const { hasWhatsapp } = await withRateLimitWaits(() =>
        cbb.setCbbContactFields(orderId, contactId, plan.contact.fields),
      );
      status('synced');

      step('confirmation', 'WhatsApp order confirmation');
      let confirmation: CbbSyncResult['confirmation'] = 'skipped';
      const skip = !plan.whatsappAlerts
        ? 'the customer did not ask for WhatsApp alerts'
        : !hasWhatsapp
          ? 'the contact has no WhatsApp'
          : undefined;
      if (skip) await cbb.settleOrder(orderId, { kind: 'whatsapp-skipped', reason: skip });
      else
        confirmation = await withRateLimitWaits(() =>
          cbb.sendOrderConfirmation(orderId, contactId, plan.externalId, plan.contact.firstName),
        );
      if (confirmation === 'sent' || confirmation === 'already-sent') status('confirmed');
      step('done', `synced; confirmation ${confirmation}`);
      result = { orderId, status: progress.status, contactId, confirmation, reason: skip };
    }
  } catch (err) {
    if (!(err instanceof TemporalFailure) || isCancellation(err)) throw err;
    const cause = thrown(err) as Error;
    const failure = applicationFailure(err);
    const reason = failureMessage(err);
    const permanent = failure?.nonRetryable || isPermanent(failure?.type ?? undefined);
    // A permanent refusal fails the order; anything else leaves it pending for the next sweep.
    await cbb.settleOrder(orderId, {
      kind: permanent ? 'invalid' : 'error',
      reason,
      errorType: failure?.type ?? cause?.name,
    });
    progress.reason = reason;
    status(permanent ? 'failed' : 'error');
    step('done', `${progress.status}: ${reason}`);
    publish();
    log.info('order sync ended', { orderId, status: progress.status, reason });
    throw ApplicationFailure.create({
      message: `order ${orderId}: ${reason}`,
      type: permanent ? 'InvalidOrder' : 'SyncError',
      nonRetryable: true,
    });
  }
  publish();
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
