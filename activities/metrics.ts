import { batchMigrationHistograms, runtimeBatchMigrationMetrics } from './batch-migration/metrics';
import { cbbHistograms, runtimeCbbMetrics } from './cbb/metrics';
import { hmmHistograms, runtimeHmmMetrics } from './hmm/metrics';
import { makeInstruments, secondsBuckets } from './meter';
import { runtimeRolloutMetrics } from './rollout/metrics';
import { runtimeVmMetrics, vmHistograms } from './vm/metrics';

/** Bucket bounds for every business histogram, for the Runtime's Prometheus exporter (all are in seconds). */
export const businessHistogramBuckets: Record<string, number[]> = Object.fromEntries(
  [...cbbHistograms, ...batchMigrationHistograms, ...vmHistograms, ...hmmHistograms].map((name) => [
    name,
    secondsBuckets,
  ]),
);

/**
 * Makes every process's instruments now, once the Runtime is installed, so their series
 * are on /metrics at 0 from the worker's start rather than from their first event.
 */
export function startBusinessMetrics(): void {
  for (const metrics of [
    runtimeCbbMetrics,
    runtimeBatchMigrationMetrics,
    runtimeRolloutMetrics,
    runtimeVmMetrics,
    runtimeHmmMetrics,
  ])
    makeInstruments(metrics);
}
