import type { MetricMeter } from '@temporalio/common';

/**
 * The throttle's waits, recorded by the workflow that decides them (with the workflow's
 * meter, which records nothing while a history replays). Its `_sum` is the time spent
 * throttled; the bounds come from the worker's Runtime (secondsBuckets).
 */
export function throttleWaits(meter: MetricMeter, migration: string): (ms: number) => void {
  const waits = meter.createHistogram(
    'batch_migration_throttle_seconds',
    'float',
    's',
    'Waits of the migration throttle (rate limit or database load), by migration',
  );
  return (ms) => waits.record(ms / 1000, { migration });
}
