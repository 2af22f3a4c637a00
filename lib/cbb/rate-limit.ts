import type { SyncStep } from './contract';

/** The CBB call each step makes, as the Web UI's reader would name it. */
const callOf: Record<SyncStep, string> = {
  loading: 'loading the order',
  contact: 'finding or creating the contact',
  fields: 'setting the custom fields',
  confirmation: 'sending the WhatsApp confirmation',
  done: 'settling the order',
};

/** The run's current details while it waits out a CBB 429 on a timer. */
export function describeRateLimitWait(step: SyncStep, retryAtMs: number, retryAfterSeconds: number): string {
  return (
    `CBB answered 429 (rate limited) on ${callOf[step]}: retrying at ${new Date(retryAtMs).toISOString()}, ` +
    `after its Retry-After of ${Math.ceil(retryAfterSeconds)} s`
  );
}

/** The wait a RateLimited failure's details ask for, in seconds; undefined when there is none to honour. */
export function retryAfterOf(details: unknown[] | undefined): number | undefined {
  const seconds = Number((details?.[0] as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}
