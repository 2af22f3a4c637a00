import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createCbbActivities } from '../activities/cbb';
import { searchAttributes } from '../lib/search-attributes';

/**
 * One order to CBB: load it, skip it or refuse it with a recorded reason, find or
 * create its contact, set every custom field (on existing contacts too), mark it
 * synced once all are set, then send the WhatsApp confirmation once, when the
 * customer wants alerts and the contact has WhatsApp. Id: `cbb-sync-order-<id>`.
 */
type CbbActivities = ReturnType<typeof createCbbActivities>;

const permanent = ['ValidationError', 'NotFound', 'Unauthorized', 'Conflict'];

const cbb = proxyActivities<CbbActivities>({
  // Each CBB call has its own 10 s timeout; a few run per activity.
  startToCloseTimeout: '45s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 12, nonRetryableErrorTypes: permanent },
});

export type SyncStatus = 'syncing' | 'synced' | 'confirmed' | 'skipped' | 'failed' | 'error';
export type SyncStep = 'loading' | 'contact' | 'fields' | 'confirmation' | 'done';

export interface CbbSyncInput {
  orderId: string;
}

export interface CbbSyncResult {
  orderId: string;
  status: SyncStatus;
  contactId?: string;
  confirmation?: 'sent' | 'already-sent' | 'unconfirmed' | 'skipped';
  reason?: string;
}

export interface CbbSyncProgress {
  orderId: string;
  step: SyncStep;
  status: SyncStatus;
  contactId?: string;
  reason?: string;
}

export const cbbSyncProgress = defineQuery<CbbSyncProgress>('cbbSyncProgress');

export const cbbSyncWorkflowId = (orderId: string) => `cbb-sync-order-${orderId}`;

export async function cbbSyncOrder({ orderId }: CbbSyncInput): Promise<CbbSyncResult> {
  const progress: CbbSyncProgress = { orderId, step: 'loading', status: 'syncing' };
  setHandler(cbbSyncProgress, () => progress);
  const status = (s: SyncStatus, branch?: string) => {
    progress.status = s;
    upsertSearchAttributes([
      { key: searchAttributes.orderId, value: orderId },
      { key: searchAttributes.syncStatus, value: s },
      ...(branch ? [{ key: searchAttributes.branch, value: branch }] : []),
    ]);
  };
  const step = (s: SyncStep, details: string) => {
    progress.step = s;
    setCurrentDetails(details);
  };
  status('syncing');
  step('loading', `loading order ${orderId}`);

  try {
    const plan = await cbb.loadOrderForSync(orderId);
    if (plan.action !== 'sync') {
      const kind = plan.action === 'skip' ? 'skipped' : 'invalid';
      await cbb.settleOrder(orderId, { kind, reason: plan.reason });
      progress.reason = plan.reason;
      status(kind === 'skipped' ? 'skipped' : 'failed', plan.branch);
      step('done', `${kind}: ${plan.reason}`);
      if (kind === 'invalid') throw ApplicationFailure.nonRetryable(`order ${orderId} cannot go to CBB: ${plan.reason}`, 'InvalidOrder');
      return { orderId, status: 'skipped', reason: plan.reason };
    }
    status('syncing', plan.branch);

    step('contact', `finding or creating the CBB contact for ${plan.contact.phone}`);
    const { contactId } = await cbb.upsertCbbContact(orderId, plan.contact);
    progress.contactId = contactId;

    step('fields', `setting ${plan.contact.fields.length} custom fields on contact ${contactId}`);
    const { hasWhatsapp } = await cbb.setCbbContactFields(orderId, contactId, plan.contact.fields);
    status('synced');

    step('confirmation', 'WhatsApp order confirmation');
    let confirmation: CbbSyncResult['confirmation'] = 'skipped';
    const skip = !plan.whatsappAlerts ? 'the customer did not ask for WhatsApp alerts' : !hasWhatsapp ? 'the contact has no WhatsApp' : undefined;
    if (skip) await cbb.settleOrder(orderId, { kind: 'whatsapp-skipped', reason: skip });
    else confirmation = await cbb.sendOrderConfirmation(orderId, contactId, plan.externalId, plan.contact.firstName);
    if (confirmation === 'sent' || confirmation === 'already-sent') status('confirmed');
    step('done', `synced; confirmation ${confirmation}`);
    return { orderId, status: progress.status, contactId, confirmation, reason: skip };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
    const reason = cause?.message ?? err.message;
    const isPermanent = cause?.nonRetryable || permanent.includes(cause?.type ?? '');
    // A permanent refusal fails the order; anything else leaves it pending for the next sweep.
    await cbb.settleOrder(orderId, { kind: isPermanent ? 'invalid' : 'error', reason });
    progress.reason = reason;
    status(isPermanent ? 'failed' : 'error');
    step('done', `${isPermanent ? 'failed' : 'error'}: ${reason}`);
    throw ApplicationFailure.create({ message: `order ${orderId}: ${reason}`, type: isPermanent ? 'InvalidOrder' : 'SyncError', nonRetryable: true });
  }
}
