/**
 * Errors are values with a type name and a message a user can act on. The API maps
 * the type to an HTTP status once (api/problem.ts); activities map it to retryable or
 * not once (activities/failure.ts).
 */
export type ErrorType =
  | 'ValidationError'
  | 'NotFound'
  | 'Conflict'
  | 'Unauthorized'
  | 'Forbidden'
  | 'Unavailable'
  | 'RateLimited'
  | 'Upstream'
  | 'Internal';

export class AppError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = type;
  }
}

export const validationError = (message: string, details?: Record<string, unknown>) =>
  new AppError('ValidationError', message, details);
export const notFound = (message: string) => new AppError('NotFound', message);
export const conflict = (message: string) => new AppError('Conflict', message);
export const unavailable = (message: string, cause?: unknown) =>
  new AppError('Unavailable', message, undefined, { cause });

/**
 * Types that a retry cannot fix: the one list behind every activity retry policy's
 * `nonRetryableErrorTypes` and the worker's error interceptor.
 */
export const permanentErrorTypes: readonly ErrorType[] = ['ValidationError', 'NotFound', 'Conflict', 'Unauthorized'];

/**
 * A partner answered 429 with a Retry-After (`details.retryAfterSeconds`): transient, but
 * with a known wait. Its own type lets a workflow take the wait over from the retry
 * policy and say in its current details what it is waiting for.
 */
export const rateLimitedType: ErrorType = 'RateLimited';

export const isPermanent = (type: string | undefined): boolean => permanentErrorTypes.includes(type as ErrorType);

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
