import { ApplicationFailure } from '@temporalio/common';
import { AppError, isPermanent } from '../lib/errors';

/**
 * The one mapping from our errors to Temporal's, applied to every activity by the
 * worker's interceptor: permanent types fail the workflow's step at once, the rest are
 * retried by the activity's retry policy. A retryAfter detail (seconds, from a
 * partner's Retry-After) becomes the next retry delay.
 */
export function toFailure(err: unknown): unknown {
  if (!(err instanceof AppError)) return err;
  const retryAfter = err.details?.retryAfterSeconds;
  return ApplicationFailure.create({
    type: err.type,
    message: err.message,
    nonRetryable: isPermanent(err.type),
    details: err.details ? [err.details] : undefined,
    nextRetryDelay: typeof retryAfter === 'number' && retryAfter > 0 ? `${Math.ceil(retryAfter * 1000)}ms` : undefined,
    cause: err,
  });
}
