import { ApplicationFailure } from '@temporalio/activity';
import { AppError, permanentTypes } from '../lib/errors';

/**
 * The one mapping from our errors to Temporal's: permanent types fail the workflow's
 * step at once, the rest are retried by the activity's retry policy. A retryAfter
 * detail (seconds, from a partner's Retry-After) becomes the next retry delay.
 */
export function toFailure(err: unknown): unknown {
  if (!(err instanceof AppError)) return err;
  const retryAfter = err.details?.retryAfterSeconds;
  return ApplicationFailure.create({
    type: err.type,
    message: err.message,
    nonRetryable: permanentTypes.has(err.type),
    details: err.details ? [err.details] : undefined,
    nextRetryDelay: typeof retryAfter === 'number' && retryAfter > 0 ? `${Math.ceil(retryAfter * 1000)}ms` : undefined,
    cause: err,
  });
}

/** Wraps an activity so that AppErrors reach Temporal with the right retry semantics. */
export function mapFailures<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw toFailure(err);
    }
  };
}
