import { formatDuration } from '../rollout/duration';
import type { MigrationProgress } from './contract';

/** Thousands separated by commas, without Intl (the same in every sandbox). */
export const count = (n: number) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const utc = (ms: number) => new Date(ms).toISOString().slice(11, 19) + ' UTC';

/** A wait the run is in now, besides its durable state. */
export interface MigrationWait {
  /** The database was over its load limits: the run backs off until then (ms since the epoch). */
  throttledUntil?: number;
  load?: { activeConnections: number; lockWaits: number };
}

function position(p: MigrationProgress): string {
  if (p.partitions > 1 && p.batches === 0) return `split into ${p.partitions} partitions (child runs ${p.runId}-p0…)`;
  const of = p.estimatedTotal ? ` of ~${count(p.estimatedTotal)}` : '';
  const pct = p.estimatedTotal ? ` (${Math.min(100, Math.round((100 * p.rowsDone) / p.estimatedTotal))} %)` : '';
  return `${count(p.rowsDone)}${of} rows${pct}, batch ${count(p.batches)}`;
}

function pace(p: MigrationProgress): string {
  const limit = p.maxRowsPerSecond ? `limit ${count(p.maxRowsPerSecond)} rows/s` : 'no rate limit';
  const size = `batch size ${count(p.batchSize)}${p.adaptive ? ' (adaptive)' : ''}`;
  const eta = p.etaSeconds !== null ? `, about ${formatDuration(p.etaSeconds * 1000)} left` : '';
  return `${count(p.rowsPerSecond)} rows/s with ${size}, ${limit}${eta}`;
}

/**
 * A run's situation in words, as its current details in the Web UI: the state, where it
 * is, how fast, and what a person can do about it.
 */
export function describeMigration(p: MigrationProgress, wait: MigrationWait = {}): string {
  const what = `${p.kind === 'reverse' ? 'reverse of ' : ''}${p.migration}${p.dryRun ? ' (dry run)' : ''}`;
  switch (p.state) {
    case 'starting':
      return `starting ${what}: counting its rows`;
    case 'paused':
      return `paused at ${position(p)}. Send the resume signal to go on, or cancel`;
    case 'verifying':
      return `verifying ${what}: checking that every row was migrated (${count(p.rowsDone)} rows done)`;
    case 'completed':
      return `completed ${what}: ${count(p.rowsDone)} rows, ${count(p.rowsChanged)} changed`;
    case 'failed':
      return `failed at ${position(p)}: ${p.lastError ?? 'unknown error'}`;
    case 'cancelled':
      return `cancelled at ${position(p)}`;
    case 'running': {
      if (p.cancelRequested) return `cancelling: stops after the current batch, at ${position(p)}`;
      if (p.pauseRequested) return `pausing: stops after the current batch, at ${position(p)}`;
      if (p.partitions > 1 && p.batches === 0) return `running ${what}, ${position(p)}`;
      if (wait.throttledUntil !== undefined) {
        const load = wait.load
          ? ` (${wait.load.activeConnections} active sessions, ${wait.load.lockWaits} lock waits)`
          : '';
        return (
          `throttled: the database is under load${load}; batch size cut to ${count(p.batchSize)}, ` +
          `next batch at ${utc(wait.throttledUntil)}. At ${position(p)}`
        );
      }
      return `running at ${pace(p)}; ${position(p)}`;
    }
  }
}
