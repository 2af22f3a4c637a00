/**
 * A WhatsApp send that CBB refused because the contact no longer exists (CBB answers 404
 * for the contact; a CBB that lost its contacts, like the local stand-in after a restart,
 * does so). The order is not invalid: its contact is made again and the send retried once.
 */

/** The patch that marks runs re-syncing a gone contact: older runs ended such an order failed, and replay so. */
export const resyncGoneContactPatch = 'cbb-sync-resyncs-gone-contact';

/** The detail a send's failure carries when the contact was gone. */
export const contactGoneDetail = (contactId: string) => ({ contactGone: contactId });

/** The contact id a failure says was gone at send time, or undefined for any other failure. */
export function goneContact(
  failure: { type?: string | null; details?: unknown[] | null } | undefined,
): string | undefined {
  if (failure?.type !== 'NotFound') return undefined;
  const detail = failure.details?.[0] as { contactGone?: unknown } | undefined;
  return typeof detail?.contactGone === 'string' ? detail.contactGone : undefined;
}

/** Why the confirmation was not sent after the re-sync: what happened, with both ids. */
export const goneTwice = (first: string, second: string): string =>
  first === second
    ? `the CBB contact ${first} was gone at send time twice`
    : `the CBB contact was gone at send time twice: ${first}, then ${second} made again for the order`;
