import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';

/**
 * The one way workflow code reads a failure: what the activity or child threw. Temporal
 * wraps a regular activity's failure in an ActivityFailure and a child's in a
 * ChildWorkflowFailure; a local activity's comes as it is. The worker's interceptor has
 * already typed it (an ApplicationFailure whose type is the error's, non-retryable when
 * the type is permanent), so nothing here decides what retries.
 */
export function thrown(err: unknown): unknown {
  return (err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) && err.cause ? err.cause : err;
}

/** The thrown failure's own message, which is what a person can act on. */
export function failureMessage(err: unknown): string {
  const cause = thrown(err);
  return cause instanceof Error ? cause.message : String(cause);
}

/** The thrown failure as an ApplicationFailure, or undefined when it is another kind (a timeout, a cancel). */
export function applicationFailure(err: unknown): ApplicationFailure | undefined {
  const cause = thrown(err);
  return cause instanceof ApplicationFailure ? cause : undefined;
}
