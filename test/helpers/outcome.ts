import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';

/** The cause of a workflow's failure (undefined for anything else). */
export const failureOf = (err: unknown) => (err instanceof WorkflowFailedError ? err.cause : undefined);

/** Asserts that the workflow ended cancelled: its result fails, and the failure's cause is the cancellation. */
export async function expectCancelled(handle: { result(): Promise<unknown> }): Promise<void> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(failureOf(err)).toBeInstanceOf(CancelledFailure);
}
