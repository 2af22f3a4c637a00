import {
  ApplicationFailure,
  log,
  patched,
  proxyLocalActivities,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { CbbActivities } from '../activities/cbb';
import type { CbbSyncProgress, CbbSyncResult, SyncStatus, SyncStep } from '../lib/cbb/contract';
import { goneContact, goneTwice, resyncGoneContactPatch } from '../lib/cbb/contact-gone';
import { describeRateLimitWait, retryAfterOf } from '../lib/cbb/rate-limit';
import { isPermanent, rateLimitedType } from '../lib/errors';
import { searchAttributes } from '../lib/search-attributes';
import { applicationFailure, failureMessage, thrown } from './failure';

const maximumAttempts = 12;
export const cbb = proxyLocalActivities<CbbActivities>({
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

type Plan = Extract<Awaited<ReturnType<typeof cbb.loadOrderForSync>>, { action: 'sync' }>;

/** One order's sync as the workflow tells it: its progress, its steps and how it ends. */
export class OrderSync {
  readonly progress: CbbSyncProgress;
  private stepDetails = '';

  constructor(private readonly orderId: string) {
    this.progress = { orderId, step: 'loading', status: 'syncing' };
  }

  /**
   * The search attributes change once, when the sync ends: its steps run within one
   * workflow task, so intermediate states would never be seen, and each upsert costs the
   * server a visibility write. Whoever starts the sync sets OrderId and SyncStatus=syncing.
   */
  publish(): void {
    upsertSearchAttributes([
      { key: searchAttributes.orderId, value: this.orderId },
      { key: searchAttributes.syncStatus, value: this.progress.status },
    ]);
  }

  status(s: SyncStatus): void {
    this.progress.status = s;
  }

  step(s: SyncStep, details: string): void {
    this.progress.step = s;
    this.stepDetails = details;
    setCurrentDetails(details);
  }

  /**
   * Runs a CBB step, waiting out each 429 on a durable timer (cancelled with the run) and
   * saying so; as many waits as the policy has attempts, then the 429 fails the step.
   */
  async withRateLimitWaits<T>(call: () => Promise<T>): Promise<T> {
    for (let waits = 0; ; waits++) {
      try {
        return await call();
      } catch (err) {
        const seconds = rateLimitedFor(err);
        if (seconds === undefined || waits >= maximumAttempts - 1 || !patched(rateLimitWaitPatch)) throw err;
        const ms = Math.ceil(seconds * 1000);
        setCurrentDetails(describeRateLimitWait(this.progress.step, Date.now() + ms, seconds));
        await sleep(ms);
        setCurrentDetails(this.stepDetails);
      }
    }
  }

  /** The contact, its fields, then the confirmation once, when the customer wants it and has WhatsApp. */
  async sync(plan: Plan): Promise<CbbSyncResult> {
    const { orderId, progress } = this;
    this.step('contact', `finding or creating the CBB contact for ${plan.contact.phone}`);
    const { contactId } = await this.withRateLimitWaits(() => cbb.upsertCbbContact(orderId, plan.contact));
    progress.contactId = contactId;

    this.step('fields', `setting ${plan.contact.fields.length} custom fields on contact ${contactId}`);
    const { hasWhatsapp } = await this.withRateLimitWaits(() =>
      cbb.setCbbContactFields(orderId, contactId, plan.contact.fields),
    );
    this.status('synced');

    this.step('confirmation', 'WhatsApp order confirmation');
    let confirmation: CbbSyncResult['confirmation'] = 'skipped';
    let reason = !plan.whatsappAlerts
      ? 'the customer did not ask for WhatsApp alerts'
      : !hasWhatsapp
        ? 'the contact has no WhatsApp'
        : undefined;
    if (reason) await cbb.settleOrder(orderId, { kind: 'whatsapp-skipped', reason });
    else ({ confirmation, reason } = await this.confirm(plan, contactId));
    if (confirmation === 'sent' || confirmation === 'already-sent') this.status('confirmed');
    this.step(
      'done',
      `synced; confirmation ${confirmation}${reason && confirmation === 'failed' ? `: ${reason}` : ''}`,
    );
    return { orderId, status: progress.status, contactId: progress.contactId, confirmation, reason };
  }

  private send(plan: Plan, contactId: string) {
    return this.withRateLimitWaits(() =>
      cbb.sendOrderConfirmation(this.orderId, contactId, plan.externalId, plan.contact.firstName),
    );
  }

  /**
   * The confirmation; a send refused because the contact is gone makes the contact again
   * through the same upsert (which stores the new id), sets its fields and sends once
   * more. A second refusal ends the confirmation failed, saying what happened.
   */
  private async confirm(
    plan: Plan,
    contactId: string,
  ): Promise<{ confirmation: CbbSyncResult['confirmation']; reason?: string }> {
    const { orderId, progress } = this;
    try {
      return { confirmation: await this.send(plan, contactId) };
    } catch (err) {
      const gone = goneContact(applicationFailure(err));
      // Runs from before the re-sync failed the order here, and replay so.
      if (gone === undefined || !patched(resyncGoneContactPatch)) throw err;
      this.step('contact', `CBB contact ${gone} was gone at send time: making the contact again`);
      const again = await this.withRateLimitWaits(() =>
        cbb.upsertCbbContact(orderId, plan.contact, { replacing: gone }),
      );
      progress.contactId = again.contactId;
      this.step('fields', `setting ${plan.contact.fields.length} custom fields on contact ${again.contactId}`);
      await this.withRateLimitWaits(() => cbb.setCbbContactFields(orderId, again.contactId, plan.contact.fields));
      this.step('confirmation', `WhatsApp order confirmation, again, to contact ${again.contactId}`);
      try {
        return { confirmation: await this.send(plan, again.contactId) };
      } catch (err2) {
        const goneAgain = goneContact(applicationFailure(err2));
        if (goneAgain === undefined) throw err2;
        const reason = goneTwice(gone, goneAgain);
        await cbb.settleOrder(orderId, { kind: 'confirmation-failed', reason });
        log.warn('order confirmation not sent: contact gone twice', { orderId, reason });
        return { confirmation: 'failed', reason };
      }
    }
  }

  /** A step failed for good: a permanent refusal fails the order, anything else leaves it pending for the next sweep. */
  async failed(err: unknown): Promise<ApplicationFailure> {
    const { orderId, progress } = this;
    const cause = thrown(err) as Error;
    const failure = applicationFailure(err);
    const reason = failureMessage(err);
    const permanent = failure?.nonRetryable || isPermanent(failure?.type ?? undefined);
    await cbb.settleOrder(orderId, {
      kind: permanent ? 'invalid' : 'error',
      reason,
      errorType: failure?.type ?? cause?.name,
    });
    progress.reason = reason;
    this.status(permanent ? 'failed' : 'error');
    this.step('done', `${progress.status}: ${reason}`);
    this.publish();
    log.info('order sync ended', { orderId, status: progress.status, reason });
    return ApplicationFailure.create({
      message: `order ${orderId}: ${reason}`,
      type: permanent ? 'InvalidOrder' : 'SyncError',
      nonRetryable: true,
    });
  }
}
