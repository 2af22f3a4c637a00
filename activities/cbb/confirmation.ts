import { withClient, type Pool, type PoolClient } from '../../lib/infra/db';
import { errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/infra/logger';
import * as store from '../../store/cbb/orders';
import type { Semaphore } from '../../lib/infra/semaphore';
import { contactGoneDetail } from '../../lib/cbb/contact-gone';
import { CbbError, type CbbClient } from './client';

/**
 * The WhatsApp order confirmation, sent at most once per order, and exactly once
 * unless a send's outcome is unknown. CBB has no idempotency key for sends, so the
 * guard is ours: a claim row keyed by the order is written before the send.
 *
 * - no claim: claim, send, mark sent;
 * - CBB answered that it did not send (an HTTP error, `success: false`, 429): the
 *   claim is released and the attempt fails, so Temporal retries and the next
 *   attempt claims again; a 404 says the contact is gone, and the failure names it so
 *   the workflow can make the contact again and send once more;
 * - the outcome is unknown (a timeout, a dropped connection, or a worker that died
 *   mid-call and left a claim): the confirmation is marked `unconfirmed` and not
 *   sent again; a duplicate WhatsApp message cannot be taken back, a missing one
 *   can be sent by an operator who checks.
 */
export type ConfirmationResult = 'sent' | 'already-sent' | 'unconfirmed';

export interface ConfirmationRequest {
  orderId: string;
  contactId: string;
  externalId: string;
  firstName: string;
  workflowId: string;
  run: string;
  attempt: string;
}

export const confirmationTemplate = { template: 'order_confirmation', language: 'he' };

export async function sendConfirmationOnce(
  deps: { pool: Pool; cbb: CbbClient; log: Logger; sends: Semaphore },
  r: ConfirmationRequest,
): Promise<ConfirmationResult> {
  const { pool, cbb, log, sends } = deps;
  // Sends in flight are what a lost worker leaves unknown: a bounded number of them means
  // a bounded number of unconfirmed orders per crash. A send waits for its slot unclaimed.
  // One connection from the claim to its record, so the answer never waits for one.
  return sends.use(() =>
    withClient(pool, async (db) => {
      const claim = await store.claimConfirmation(db, r.orderId, r.contactId, r.attempt);
      if (!claim.claimed) {
        if (claim.state === 'sent') return 'already-sent';
        if (claim.state === 'sending')
          await markUnconfirmed(
            db,
            r,
            `an earlier attempt (${claim.claimedBy}) stopped with the send's outcome unknown`,
          );
        return 'unconfirmed';
      }
      let messageId: string | undefined;
      try {
        ({ messageId } = await cbb.sendWhatsappTemplate(r.contactId, {
          ...confirmationTemplate,
          params: { order_id: r.externalId, first_name: r.firstName },
        }));
      } catch (err) {
        if (err instanceof CbbError && err.delivery === 'not-sent') {
          await store
            .releaseConfirmation(db, r.orderId, r.attempt)
            .catch((e) => log.warn({ err: errorMessage(e) }, 'could not release a confirmation claim'));
          // A 404 on a send names the contact: the workflow makes it again rather than fail the order.
          if (err.type === 'NotFound') {
            throw new CbbError('NotFound', `CBB contact ${r.contactId} is gone: ${err.message}`, 'not-sent', {
              ...err.details,
              ...contactGoneDetail(r.contactId),
            });
          }
          throw err;
        }
        await markUnconfirmed(db, r, errorMessage(err));
        return 'unconfirmed';
      }
      const sent = {
        state: 'sent' as const,
        reason: null,
        event: {
          type: 'confirmation_sent',
          detail: { messageId },
          workflowId: r.workflowId,
          dedupeKey: `${r.run}/confirmation`,
        },
      };
      // The message is out: recording it must not fail lightly, or the next attempt would
      // find the claim and call the outcome unknown. Should the held connection fail, the pool's are tried.
      await store
        .recordConfirmation(db, r.orderId, sent)
        .catch(() => persistently(() => store.recordConfirmation(pool, r.orderId, sent)));
      return 'sent';
    }),
  );
}

function markUnconfirmed(db: PoolClient, r: ConfirmationRequest, reason: string): Promise<void> {
  return store.recordConfirmation(db, r.orderId, {
    state: 'unconfirmed',
    reason,
    event: {
      type: 'confirmation_unconfirmed',
      detail: { reason },
      workflowId: r.workflowId,
      dedupeKey: `${r.run}/confirmation`,
    },
  });
}

async function persistently<T>(fn: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 * i));
    }
  }
}
