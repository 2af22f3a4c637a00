import type { MetricMeter } from '@temporalio/common';
import { labelSets, onRuntimeMeter } from '../meter';
import type { ConfirmationResult } from './confirmation';

/** How a sync of one order ended: `failed` is refused for good, `error` stays pending for the next sweep. */
export type SyncOutcome = 'synced' | 'skipped' | 'failed' | 'error';
const syncOutcomes: readonly SyncOutcome[] = ['synced', 'skipped', 'failed', 'error'];

/** Label values for the error types a sync fails with; any other type is `other`, so the label stays bounded. */
const errorKinds: Record<string, string> = {
  InvalidOrder: 'invalid_order',
  ValidationError: 'rejected',
  NotFound: 'not_found',
  Unauthorized: 'unauthorized',
  Conflict: 'conflict',
  Upstream: 'upstream_error',
  Unavailable: 'unavailable',
  RateLimited: 'rate_limited',
  TimeoutFailure: 'timeout',
};
export const errorKind = (type: string | undefined): string => (type && errorKinds[type]) || 'other';

/** The client's operation names: the route label is one of these, never a path with a contact id in it. */
const routes: Record<string, string> = {
  'find contact': 'find_contact',
  'create contact': 'create_contact',
  'get contact': 'get_contact',
  'set field': 'set_field',
  'send content': 'send_content',
};
export const routeLabel = (op: string): string => routes[op] ?? 'other';

/** An HTTP status as its class (`2xx` … `5xx`); no answer at all is `timeout` or `network`. */
export function statusClass(status: number | 'timeout' | 'network'): string {
  if (typeof status !== 'number') return status;
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

const confirmationResults: readonly ConfirmationResult[] = ['sent', 'already-sent', 'unconfirmed'];
const snake = (s: string) => s.replace(/-/g, '_');

export const cbbHistograms = ['cbb_request_duration_seconds'];

export interface CbbMetrics {
  syncEnded(outcome: SyncOutcome, errorType?: string): void;
  confirmation(result: ConfirmationResult): void;
  request(op: string, status: number | 'timeout' | 'network', seconds: number): void;
  sweepChunk(): void;
}

export function createCbbMetrics(meter: MetricMeter): CbbMetrics {
  const syncs = meter.createCounter('cbb_order_syncs_total', '', 'Order syncs ended, by outcome');
  const failures = meter.createCounter(
    'cbb_order_sync_failures_total',
    '',
    'Order syncs that ended failed or in error, by error kind',
  );
  const confirmations = meter.createCounter(
    'cbb_confirmations_total',
    '',
    'WhatsApp order confirmations, by result (unconfirmed: the send may or may not have happened)',
  );
  const requests = meter.createHistogram(
    'cbb_request_duration_seconds',
    'float',
    's',
    'CBB API requests, by route and status class',
  );
  const chunks = meter.createCounter('cbb_sweep_chunks_total', '', 'Sweep chunks run: at least one per sweep');
  for (const set of labelSets({ outcome: syncOutcomes })) syncs.add(0, set);
  for (const kind of new Set(Object.values(errorKinds))) failures.add(0, { kind });
  for (const result of confirmationResults) confirmations.add(0, { result: snake(result) });
  chunks.add(0);
  return {
    syncEnded(outcome, errorType) {
      syncs.add(1, { outcome });
      if (outcome === 'failed' || outcome === 'error') failures.add(1, { kind: errorKind(errorType) });
    },
    confirmation: (result) => confirmations.add(1, { result: snake(result) }),
    request: (op, status, seconds) =>
      requests.record(seconds, { route: routeLabel(op), status_class: statusClass(status) }),
    sweepChunk: () => chunks.add(1),
  };
}

export const runtimeCbbMetrics = onRuntimeMeter(createCbbMetrics);
