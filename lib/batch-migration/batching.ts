/**
 * The batching policy of a data migration: pure functions the workflow calls between
 * batches (so they run in the deterministic sandbox and are unit-tested alone).
 */

export const batchSizeFloor = 10;
export const batchSizeCeiling = 100_000;
/** Partitions a run may have: each is a child workflow with one batch in flight on the database. */
export const maxPartitions = 16;

export interface DbLoad {
  /** Other sessions of the database running a statement right now. */
  activeConnections: number;
  /** Sessions waiting on a lock. */
  lockWaits: number;
}

export interface ThrottleLimits {
  maxActiveConnections: number;
  maxLockWaits: number;
}

export const defaultThrottleLimits: ThrottleLimits = { maxActiveConnections: 32, maxLockWaits: 4 };

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

/**
 * The next batch size, aimed at the target batch time (gh-ost's chunk-time idea): scale
 * by target ÷ measured, but never more than double or less than half in one step, so
 * one slow batch (a checkpoint, a cold cache) does not swing the size wildly.
 */
export function nextBatchSize(current: number, lastMs: number, targetMs: number): number {
  if (lastMs <= 0) return clamp(current * 2, batchSizeFloor, batchSizeCeiling);
  const factor = clamp(targetMs / lastMs, 0.5, 2);
  return clamp(Math.round(current * factor), batchSizeFloor, batchSizeCeiling);
}

export function overloaded(load: DbLoad | undefined, limits: ThrottleLimits): boolean {
  return !!load && (load.activeConnections > limits.maxActiveConnections || load.lockWaits > limits.maxLockWaits);
}

/** Back-off while the database is overloaded: 1 s, 2 s, 4 s … up to 30 s. */
export function overloadDelayMs(consecutiveOverloads: number): number {
  return consecutiveOverloads <= 0 ? 0 : Math.min(30_000, 1000 * 2 ** (consecutiveOverloads - 1));
}

/** How long to wait after a batch so the run stays under maxRowsPerSecond. */
export function rateDelayMs(rows: number, batchMs: number, maxRowsPerSecond?: number): number {
  if (!maxRowsPerSecond || rows <= 0) return 0;
  return Math.max(0, Math.ceil((rows / maxRowsPerSecond) * 1000 - batchMs));
}

export function rowsPerSecond(rows: number, activeMs: number): number {
  return activeMs > 0 ? Math.round((rows / activeMs) * 1000 * 10) / 10 : 0;
}

/** Seconds left at the current rate, or null while unknown (Shopify's remaining ÷ rate). */
export function etaSeconds(estimatedTotal: number | undefined, rowsDone: number, rate: number): number | null {
  if (estimatedTotal === undefined || rate <= 0) return null;
  return Math.max(0, Math.round((estimatedTotal - rowsDone) / rate));
}

/**
 * Splits the key range [min, max] into `parts` contiguous ranges for partitions, each
 * as (after, upTo]: the first starts before min, the last ends at max. Keys are
 * bigints carried as strings.
 */
export function splitKeyRange(min: string, max: string, parts: number): { after?: string; upTo?: string }[] {
  const lo = BigInt(min);
  const hi = BigInt(max);
  const n = BigInt(Math.max(1, parts));
  const span = hi - lo + 1n;
  const ranges: { after?: string; upTo?: string }[] = [];
  let after: bigint | undefined;
  for (let i = 1n; i <= n; i++) {
    const upTo = i === n ? hi : lo - 1n + (span * i) / n;
    // More parts than keys: skip the empty ones (before the first key, or no wider than the last).
    if (i !== n && (upTo < lo || (after !== undefined && upTo <= after))) continue;
    ranges.push({ after: after === undefined ? undefined : String(after), upTo: i === n ? undefined : String(upTo) });
    after = upTo;
  }
  return ranges;
}

/** What `partitions: 'auto'` reads from the database before a run (store/batch-migration/capacity.ts). */
export interface DbCapacity {
  /** Cores the database server runs on. */
  cores: number;
  /** How many of them other work keeps busy now (a load average, or active sessions). */
  load: number;
}

/**
 * `partitions: 'auto'`: one partition per database core that other work leaves idle, at
 * least 1 and never more than the cores (a partition keeps one statement running, and a
 * second statement on a busy core only takes turns with the first).
 */
export function autoPartitionCount({ cores, load }: DbCapacity): number {
  const cap = Math.min(maxPartitions, Math.max(1, Math.floor(cores)));
  return clamp(Math.round(cores - Math.max(0, load)), 1, cap);
}
