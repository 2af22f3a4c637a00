import type { MetricMeter } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';

/**
 * Business metrics go through the Temporal Runtime's meter, so they join the SDK's own on
 * the worker's one /metrics endpoint, under the names given here (the Runtime adds no
 * prefix and no `_total`): `<process>_<what>_<unit>`, counters ending in `_total`.
 */

/** Bucket bounds for histograms in seconds; the Runtime's default bounds (50 … 10 000) suit milliseconds. */
export const secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Instruments made once per process, on first use: the worker has installed its Runtime
 * by then, and a test that never runs the activity never touches the Runtime. A second
 * instrument of one name would be exported as a duplicate series.
 */
export function onRuntimeMeter<T extends object>(make: (meter: MetricMeter) => T): T {
  let made: T | undefined;
  const get = () => (made ??= make(Runtime.instance().metricMeter));
  return new Proxy({} as T, { get: (_, key) => get()[key as keyof T] });
}

/**
 * Every combination of the given label values. Each series is set to 0 when the worker
 * starts: `increase()` over a series that appears with its first event misses that event,
 * and an alert on it would never fire.
 */
export function labelSets<K extends string>(values: Record<K, readonly string[]>): Record<K, string>[] {
  let sets: Record<string, string>[] = [{}];
  for (const [key, options] of Object.entries(values) as [string, readonly string[]][])
    sets = sets.flatMap((set) => options.map((v) => ({ ...set, [key]: v })));
  return sets as Record<K, string>[];
}

/** Makes the instruments of a set from onRuntimeMeter now: reading any property of it does. */
export function makeInstruments(metrics: object): void {
  Reflect.get(metrics, 'now');
}
