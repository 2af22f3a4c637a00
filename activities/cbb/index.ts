import { Context } from '@temporalio/activity';
import {
  cbbFieldRegistry,
  describeProblems,
  mapOrderToContact,
  type CbbContactDraft,
  type CbbFieldValue,
} from '../../lib/cbb/fields';
import type { Config } from '../../lib/infra/config';
import { inTransaction, type Pool } from '../../lib/infra/db';
import { AppError, errorMessage, isPermanent, notFound } from '../../lib/errors';
import type { Logger } from '../../lib/infra/logger';
import { cbbBranches } from '../../lib/cbb/order';
import { Semaphore } from '../../lib/infra/semaphore';
import * as store from '../../store/cbb/orders';
import * as writes from '../../store/cbb/sync-writes';
import { CbbError, createCbbClient, type CbbClient } from './client';
import { sendConfirmationOnce } from './confirmation';
import { runtimeCbbMetrics, type CbbMetrics } from './metrics';

export interface CbbDeps {
  config: Pick<Config, 'cbb'>;
  pool: Pool;
  log: Logger;
  /** Tests may pass a client; the worker builds the real one from config. */
  cbb?: CbbClient;
  metrics?: CbbMetrics;
}

export type SyncPlan =
  | { action: 'skip'; reason: string; branch: string }
  | { action: 'invalid'; reason: string; branch: string }
  | { action: 'sync'; branch: string; externalId: string; whatsappAlerts: boolean; contact: CbbContactDraft };

export type SettleOutcome =
  | { kind: 'skipped'; reason: string }
  | { kind: 'invalid'; reason: string; errorType?: string }
  | { kind: 'error'; reason: string; errorType?: string }
  | { kind: 'whatsapp-skipped'; reason: string }
  /** The order is in CBB but its confirmation could not be sent: the reason says why. */
  | { kind: 'confirmation-failed'; reason: string };

/** Who is calling: the workflow run keys the audit events, the attempt keys a confirmation claim. */
function caller() {
  const info = Context.current().info;
  const workflowId = info.workflowExecution?.workflowId ?? 'standalone';
  const runId = info.workflowExecution?.runId ?? info.activityId;
  const run = `${workflowId}/${runId}`;
  return { workflowId, runId, run, attempt: `${run}/${info.activityId}/${info.attempt}` };
}

export function createCbbActivities({
  config,
  pool,
  log,
  metrics = runtimeCbbMetrics,
  cbb = createCbbClient({ ...config.cbb, observe: metrics.request }),
}: CbbDeps) {
  const sends = new Semaphore(config.cbb.maxConcurrentSends);
  return {
    /**
     * Reads the order and decides what the sync does with it. Safe to run twice: it
     * only reads, and the attempt counter moves with the run's `sync_started` event,
     * which a second call does not write again.
     */
    loadOrderForSync: async (orderId: string): Promise<SyncPlan> => {
      const { workflowId, runId, run } = caller();
      // One statement: the read, the event, the attempt count and the run reads show.
      const order = await writes.startOrderSync(
        pool,
        orderId,
        { workflowId, runId },
        {
          type: 'sync_started',
          workflowId,
          dedupeKey: `${run}/sync_started`,
        },
      );
      if (!order) throw notFound(`order ${orderId} does not exist`);
      if (!cbbBranches.has(order.branch))
        return { action: 'skip', reason: `branch ${order.branch} does not sync to CBB`, branch: order.branch };
      if (order.isTest) return { action: 'skip', reason: 'test order', branch: order.branch };
      const mapped = mapOrderToContact(order);
      if (!mapped.ok) return { action: 'invalid', reason: describeProblems(mapped.problems), branch: order.branch };
      return {
        action: 'sync',
        branch: order.branch,
        externalId: order.externalId,
        whatsappAlerts: order.whatsappAlerts,
        contact: mapped.contact,
      };
    },

    /**
     * Finds the contact by phone or creates it. Safe to run twice: it looks before it
     * creates, so a retry after a create whose answer was lost finds that contact; an
     * advisory lock on the phone keeps two orders of one customer from both creating.
     * `replacing` names a contact CBB no longer has: the one found or made now takes its place.
     */
    upsertCbbContact: async (
      orderId: string,
      draft: CbbContactDraft,
      again?: { replacing: string },
    ): Promise<{ contactId: string; created: boolean }> => {
      const { workflowId, run } = caller();
      return inTransaction(pool, async (c) => {
        await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`cbb-contact:${draft.phone}`]);
        const found = await cbb.findContactsByPhone(draft.phone);
        const existing = found.sort((a, b) => Number(a.id) - Number(b.id))[0];
        const contact =
          existing ??
          (await cbb.createContact({
            phone: draft.phone,
            email: draft.email,
            firstName: draft.firstName,
            lastName: draft.lastName,
            fields: draft.fields.map((f) => ({ name: f.name, value: f.value })),
            tags: ['visa-order'],
          }));
        const type = existing ? 'contact_found' : 'contact_created';
        await writes.recordContact(c, orderId, contact.id, {
          type,
          detail: { contactId: contact.id, ...(again ? { replacing: again.replacing } : {}) },
          workflowId,
          // The re-sync's event is its own: the run's first one keeps its key.
          dedupeKey: again ? `${run}/contact/replacing/${again.replacing}` : `${run}/contact`,
        });
        return { contactId: contact.id, created: !existing };
      });
    },

    /**
     * Makes every custom field hold the order's value, then marks the order synced.
     * Safe to run twice: it reads the contact first and writes only fields that differ,
     * and setting a field to a value it already has changes nothing.
     */
    setCbbContactFields: async (
      orderId: string,
      contactId: string,
      fields: CbbFieldValue[],
    ): Promise<{ set: number; unchanged: number; hasWhatsapp: boolean }> => {
      const { workflowId, run } = caller();
      const contact = await cbb.getContact(contactId);
      const stale = fields.filter((f) => contact.fields[f.id] !== f.value);
      const results = await Promise.allSettled(stale.map((f) => cbb.setCustomField(contactId, f.id, f.value)));
      const failures = results.flatMap((r, i) =>
        r.status === 'rejected' ? [{ field: stale[i].name, err: r.reason as unknown }] : [],
      );
      if (failures.length > 0) {
        const err = fieldFailure(failures, stale.length);
        await store
          .setSyncState(pool, orderId, { lastError: err.message })
          .catch((e) => log.warn({ err: errorMessage(e) }, 'could not record field failure'));
        throw err;
      }
      const detail = { contactId, set: stale.map((f) => f.name), unchanged: fields.length - stale.length };
      const first = await writes.markSynced(pool, orderId, {
        type: 'synced',
        detail,
        workflowId,
        dedupeKey: `${run}/synced`,
      });
      // A run syncs an order once, however often its fields are set (a retry, a re-sync).
      if (first) metrics.syncEnded('synced');
      return { set: stale.length, unchanged: fields.length - stale.length, hasWhatsapp: contact.hasWhatsapp };
    },

    /** Sends the WhatsApp order confirmation at most once per order: see confirmation.ts. */
    sendOrderConfirmation: async (orderId: string, contactId: string, externalId: string, firstName: string) => {
      const result = await sendConfirmationOnce(
        { pool, cbb, log, sends },
        { orderId, contactId, externalId, firstName, ...caller() },
      );
      metrics.confirmation(result);
      return result;
    },

    /**
     * Records how a sync ended when it did not end synced (its step: done). Safe to run twice: plain updates and a deduplicated event.
     * An order that does not exist has nothing to record (its events would break their foreign key, retry after retry).
     */
    settleOrder: async (orderId: string, outcome: SettleOutcome): Promise<void> => {
      const { workflowId, run } = caller();
      const settled = await inTransaction(pool, async (c) => {
        if (!(await store.getOrder(c, orderId))) return false;
        if (outcome.kind === 'skipped' || outcome.kind === 'invalid') {
          await store.setSyncState(c, orderId, {
            status: outcome.kind === 'skipped' ? 'skipped' : 'failed',
            lastError: outcome.reason,
            step: 'done',
          });
          await store.setWhatsappState(
            c,
            orderId,
            'skipped',
            outcome.kind === 'skipped' ? outcome.reason : 'order not synced to CBB',
          );
        } else if (outcome.kind === 'confirmation-failed') {
          await store.setWhatsappState(c, orderId, 'failed', outcome.reason, 'done');
        } else if (outcome.kind === 'error') {
          await store.setSyncState(c, orderId, { lastError: outcome.reason, step: 'done' });
        } else {
          await store.setWhatsappState(c, orderId, 'skipped', outcome.reason, 'done');
        }
        await store.addEvent(c, orderId, {
          type: outcome.kind,
          detail: { reason: outcome.reason },
          workflowId,
          dedupeKey: `${run}/${outcome.kind}`,
        });
        return true;
      });
      if (settled && outcome.kind !== 'whatsapp-skipped' && outcome.kind !== 'confirmation-failed') {
        const type = 'errorType' in outcome ? outcome.errorType : undefined;
        // A plan refused before any CBB call (no errorType) is an invalid order.
        if (outcome.kind === 'invalid') metrics.syncEnded('failed', type ?? 'InvalidOrder');
        else metrics.syncEnded(outcome.kind, type);
      }
    },
  };
}

/** One error for a set of failed field writes: permanent if any was, else retryable after the longest Retry-After. */
function fieldFailure(failures: { field: string; err: unknown }[], tried: number): AppError {
  const message = `${failures.length} of ${tried} custom fields not set: ${failures.map((f) => `${f.field} (${errorMessage(f.err)})`).join('; ')}`;
  const permanent = failures.find((f) => f.err instanceof AppError && isPermanent(f.err.type));
  if (permanent)
    return new AppError((permanent.err as AppError).type, message, { fields: failures.map((f) => f.field) });
  const retryAfter = Math.max(
    0,
    ...failures.map((f) => (f.err instanceof CbbError ? Number(f.err.details?.retryAfterSeconds ?? 0) : 0)),
  );
  // One 429 among them makes the set rate limited: the step runs again after the longest wait anyway.
  return new AppError(retryAfter > 0 ? 'RateLimited' : 'Upstream', message, {
    fields: failures.map((f) => f.field),
    ...(retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
  });
}

export const cbbFieldNames = Object.keys(cbbFieldRegistry);

export type CbbActivities = ReturnType<typeof createCbbActivities>;
