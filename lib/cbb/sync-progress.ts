import type { SyncStatus } from './contract';
import type { CbbStatus, WhatsappStatus } from './order';

/**
 * The sync's progress as the order's row keeps it, so a read needs no Temporal round trip.
 * The activities record the step in the statements they already run: `loading` when a run
 * begins, `contact` once the contact is found or made, `fields` once every field is set
 * (the order is synced), `done` when the run records its end (confirmation sent or
 * unconfirmed, skipped, failed, or an error left for the sweep).
 */
export type StoredSyncStep = 'loading' | 'contact' | 'fields' | 'done';

export interface StoredSyncState {
  cbbStatus: CbbStatus;
  cbbStep: StoredSyncStep | null;
  whatsappStatus: WhatsappStatus;
}

export interface SyncProgressView {
  /** The last step a run recorded; null before any run began. */
  step: StoredSyncStep | null;
  /** What the workflow's progress query says (SyncStatus), read from the row; null before any run began. */
  status: SyncStatus | null;
  /** Whether a run has begun and not yet recorded its end. */
  running: boolean;
}

/**
 * The row's progress in the workflow's words. One step records nothing: a run whose order
 * was confirmed (or left unconfirmed) by an earlier run ends its confirmation step on the
 * claim alone, so `fields` with such a confirmation is a run that has nothing left to write.
 */
export function syncProgressOf(o: StoredSyncState): SyncProgressView {
  if (o.cbbStep === null) return { step: null, status: null, running: false };
  const confirmationSettled = o.whatsappStatus === 'sent' || o.whatsappStatus === 'unconfirmed';
  const step = o.cbbStep === 'fields' && confirmationSettled ? 'done' : o.cbbStep;
  if (step !== 'done') return { step, status: step === 'fields' ? 'synced' : 'syncing', running: true };
  return { step, status: endedStatus(o), running: false };
}

function endedStatus(o: StoredSyncState): SyncStatus {
  switch (o.cbbStatus) {
    case 'synced':
      return o.whatsappStatus === 'sent' ? 'confirmed' : 'synced';
    case 'skipped':
      return 'skipped';
    case 'failed':
      return 'failed';
    case 'pending':
      // A run that ended without syncing and without a permanent refusal: the sweep tries again.
      return 'error';
  }
}
