import { errorMessage } from '../../lib/errors';

/** fetch hides the socket error (ECONNREFUSED, a reset) in `cause`; that is the part a person can act on. */
export function causeOf(err: unknown): string {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause ? errorMessage(cause) : errorMessage(err);
}

/** AbortSignal.timeout's DOMException may come from another realm (a test VM): match it by name. */
export const isTimeout = (err: unknown) => (err as { name?: string } | undefined)?.name === 'TimeoutError';
