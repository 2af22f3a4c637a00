import type { MigrationProgress } from '../../lib/batch-migration/contract';
import { describeMigration } from '../../lib/batch-migration/details';
import { batchMigrationStartOptions } from '../../lib/batch-migration/contract';

const progress = (p: Partial<MigrationProgress> = {}): MigrationProgress => ({
  runId: 'migration-orders-phone-e164-1',
  migration: 'orders-phone-e164',
  kind: 'forward',
  dryRun: false,
  state: 'running',
  pauseRequested: false,
  cancelRequested: false,
  rowsDone: 12_000,
  rowsChanged: 11_500,
  estimatedTotal: 50_000,
  rowsPerSecond: 400,
  etaSeconds: 95,
  cursor: '12000',
  batchSize: 1000,
  maxRowsPerSecond: 400,
  adaptive: false,
  batches: 12,
  lastBatchMs: 80,
  throttledMs: 0,
  lastError: null,
  continuedRuns: 0,
  partitions: 1,
  ...p,
});

describe('describeMigration: the state in words for the Web UI', () => {
  test.each<[string, Partial<MigrationProgress>, RegExp]>([
    [
      'running',
      {},
      /^running at 400 rows\/s with batch size 1,000, limit 400 rows\/s, about 1m35s left; 12,000 of ~50,000 rows \(24 %\), batch 12$/,
    ],
    [
      'running without a limit, adaptive',
      { maxRowsPerSecond: null, adaptive: true, etaSeconds: null },
      /with batch size 1,000 \(adaptive\), no rate limit;/,
    ],
    ['paused', { state: 'paused' }, /^paused at 12,000 of ~50,000 rows \(24 %\), batch 12\. Send the resume signal/],
    ['pause requested', { pauseRequested: true }, /^pausing: stops after the current batch/],
    ['cancel requested', { cancelRequested: true, pauseRequested: true }, /^cancelling:/],
    ['verifying', { state: 'verifying' }, /^verifying orders-phone-e164: checking that every row was migrated/],
    ['completed', { state: 'completed' }, /^completed orders-phone-e164: 12,000 rows, 11,500 changed$/],
    [
      'failed',
      { state: 'failed', lastError: 'verify found 3 rows not migrated' },
      /^failed at .*: verify found 3 rows not migrated$/,
    ],
    [
      'a reverse dry run starting',
      { state: 'starting', kind: 'reverse', dryRun: true },
      /^starting reverse of orders-phone-e164 \(dry run\)/,
    ],
    [
      'a partitioned parent',
      { partitions: 4, batches: 0, rowsDone: 0 },
      /split into 4 partitions \(child runs migration-orders-phone-e164-1-p0…\)$/,
    ],
  ])('%s', (_name, p, expected) => {
    expect(describeMigration(progress(p))).toMatch(expected);
  });

  test('throttled by database load says so, with the load, the new batch size and when the next batch runs', () => {
    const text = describeMigration(progress({ batchSize: 500 }), {
      throttledUntil: Date.UTC(2026, 0, 1, 10, 0, 4),
      load: { activeConnections: 40, lockWaits: 1 },
    });
    expect(text).toBe(
      'throttled: the database is under load (40 active sessions, 1 lock waits); batch size cut to 500, ' +
        'next batch at 10:00:04 UTC. At 12,000 of ~50,000 rows (24 %), batch 12',
    );
  });
});

test('start options name the migration, its settings and its partition in the summary and details', () => {
  const o = batchMigrationStartOptions('migration-trades-risk-score-2-p1', {
    migration: 'trades-risk-score',
    batchSize: 2000,
    maxRowsPerSecond: 400,
    partition: { runId: 'migration-trades-risk-score-2', index: 1, after: '100', upTo: '200' },
  });
  expect(o.staticSummary).toBe('Migration trades-risk-score, partition 1 of migration-trades-risk-score-2');
  expect(o.staticDetails).toMatch(/^batch size 2000; at most 400 rows\/s; keys after 100 up to 200\. Signals: pause/);
  expect(o.typedSearchAttributes.map((a) => [a.key.name, a.value])).toEqual([
    ['MigrationName', 'trades-risk-score'],
    ['MigrationState', 'starting'],
  ]);
});
