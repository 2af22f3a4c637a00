import type { MetricMeter } from '@temporalio/common';
import { dataMigrations } from '../../lib/batch-migration/registry';
import type { MigrationState } from '../../lib/batch-migration/contract';
import { labelSets, onRuntimeMeter } from '../meter';

/**
 * Batch migrations on the worker's /metrics. The `migration` label is a definition's name
 * from the registry (a handful), never a run id; throttle waits are recorded by the
 * workflow, which decides them (lib/batch-migration/metrics.ts).
 */
export type BatchDirection = 'forward' | 'reverse';

const states: readonly MigrationState[] = ['running', 'paused', 'verifying', 'completed', 'failed', 'cancelled'];

export const batchMigrationHistograms = ['batch_migration_batch_duration_seconds', 'batch_migration_throttle_seconds'];

export interface BatchMigrationMetrics {
  batch(migration: string, direction: BatchDirection, rows: number, seconds: number): void;
  entered(migration: string, state: string): void;
}

export function createBatchMigrationMetrics(meter: MetricMeter): BatchMigrationMetrics {
  const rows = meter.createCounter('batch_migration_rows_total', '', 'Rows read by applied batches, by migration');
  const batches = meter.createCounter(
    'batch_migration_batches_total',
    '',
    'Batches applied (not replayed), by migration and direction',
  );
  const latency = meter.createHistogram(
    'batch_migration_batch_duration_seconds',
    'float',
    's',
    'Time to apply one batch in its transaction, by migration',
  );
  const runs = meter.createCounter(
    'batch_migration_runs_total',
    '',
    'Migration runs entering a state (running, paused, completed, failed, ...), by migration',
  );
  const migration = [...dataMigrations.keys()];
  for (const set of labelSets({ migration })) rows.add(0, set);
  for (const set of labelSets({ migration, direction: ['forward', 'reverse'] })) batches.add(0, set);
  for (const set of labelSets({ migration, state: states })) runs.add(0, set);
  return {
    batch(name, direction, n, seconds) {
      rows.add(n, { migration: name });
      batches.add(1, { migration: name, direction });
      latency.record(seconds, { migration: name });
    },
    entered: (name, state) => runs.add(1, { migration: name, state }),
  };
}

export const runtimeBatchMigrationMetrics = onRuntimeMeter(createBatchMigrationMetrics);
