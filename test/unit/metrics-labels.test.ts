import { createBatchMigrationMetrics } from '../../activities/batch-migration/metrics';
import { createCbbMetrics, errorKind, routeLabel, statusClass } from '../../activities/cbb/metrics';
import { createHmmMetrics } from '../../activities/hmm/metrics';
import { labelSets } from '../../activities/meter';
import { createRolloutMetrics } from '../../activities/rollout/metrics';
import { createVmMetrics } from '../../activities/vm/metrics';
import { dataMigrations } from '../../lib/batch-migration/registry';
import { fakeMeter } from '../helpers/fake-meter';

/** Label values stay in small known sets: an id or a free text in a label would make a series per order or per run. */

test('CBB request labels: the operation, never the path, and the status class', () => {
  expect(routeLabel('get contact')).toBe('get_contact');
  expect(routeLabel('send content')).toBe('send_content');
  expect(routeLabel('GET /contacts/12345')).toBe('other');
  expect([200, 204, 302, 404, 429, 500, 503].map((s) => statusClass(s))).toEqual([
    '2xx',
    '2xx',
    '3xx',
    '4xx',
    '4xx',
    '5xx',
    '5xx',
  ]);
  expect([statusClass('timeout'), statusClass('network'), statusClass(0), statusClass(999)]).toEqual([
    'timeout',
    'network',
    'other',
    'other',
  ]);
});

test('a sync failure is counted by a known kind; an unknown type or a message is `other`', () => {
  expect(errorKind('Unavailable')).toBe('unavailable');
  expect(errorKind('InvalidOrder')).toBe('invalid_order');
  expect(errorKind('TimeoutFailure')).toBe('timeout');
  expect(errorKind(undefined)).toBe('other');
  expect(errorKind('order 42 cannot go to CBB: phone missing')).toBe('other');

  const f = fakeMeter();
  const m = createCbbMetrics(f.meter);
  m.syncEnded('error', 'Unavailable');
  m.syncEnded('failed', 'SomethingNew');
  m.syncEnded('synced');
  expect(f.total('cbb_order_syncs_total', { outcome: 'error' })).toBe(1);
  expect(f.total('cbb_order_syncs_total', { outcome: 'synced' })).toBe(1);
  expect(f.total('cbb_order_sync_failures_total', { kind: 'unavailable' })).toBe(1);
  expect(f.total('cbb_order_sync_failures_total', { kind: 'other' })).toBe(1);
  // A synced order is no failure of any kind.
  const failures = f
    .labelSetsOf('cbb_order_sync_failures_total')
    .map((l) => f.total('cbb_order_sync_failures_total', l));
  expect(failures.reduce((a, b) => a + b, 0)).toBe(2);
});

test('confirmation results are label values in snake case, each series there at 0 before its first event', () => {
  const f = fakeMeter();
  const m = createCbbMetrics(f.meter);
  expect(f.labelSetsOf('cbb_confirmations_total')).toEqual([
    { result: 'sent' },
    { result: 'already_sent' },
    { result: 'unconfirmed' },
  ]);
  m.confirmation('already-sent');
  expect(f.total('cbb_confirmations_total', { result: 'already_sent' })).toBe(1);
  m.request('set field', 'timeout', 10);
  expect(f.labelSetsOf('cbb_request_duration_seconds')).toEqual([{ route: 'set_field', status_class: 'timeout' }]);
});

test('labelSets makes every combination, and none from an empty list', () => {
  expect(labelSets({ a: ['1', '2'], b: ['x', 'y'] })).toEqual([
    { a: '1', b: 'x' },
    { a: '1', b: 'y' },
    { a: '2', b: 'x' },
    { a: '2', b: 'y' },
  ]);
  expect(labelSets({ a: ['1'], b: [] })).toEqual([]);
});

test('migration series are labelled by definition name and start at 0 for every registered definition', () => {
  const f = fakeMeter();
  const m = createBatchMigrationMetrics(f.meter);
  const names = [...dataMigrations.keys()];
  expect(f.labelSetsOf('batch_migration_rows_total')).toEqual(names.map((migration) => ({ migration })));
  m.batch('trades-risk-score', 'forward', 500, 0.2);
  m.entered('trades-risk-score', 'paused');
  expect(f.total('batch_migration_rows_total', { migration: 'trades-risk-score' })).toBe(500);
  expect(f.total('batch_migration_batches_total', { migration: 'trades-risk-score', direction: 'forward' })).toBe(1);
  expect(f.total('batch_migration_runs_total', { migration: 'trades-risk-score', state: 'paused' })).toBe(1);
  expect(
    f.instruments.get('batch_migration_batch_duration_seconds')?.values.get('{"migration":"trades-risk-score"}'),
  ).toEqual([0.2]);
});

test('a VM operation outside the known list is `other`; an error without a code is MACHINE_OPERATION_FAILED', () => {
  const f = fakeMeter();
  const m = createVmMetrics(f.meter);
  m.operation('start', 'ok', 0.1);
  m.operation('vm-42-start', 'error', 0.1);
  m.operation('shutdown', 'error', 3, 'RESOURCE_CONFLICT');
  expect(f.total('vm_operations_total', { op: 'start', outcome: 'ok' })).toBe(1);
  expect(f.total('vm_operations_total', { op: 'other', outcome: 'error' })).toBe(1);
  expect(f.total('vm_operation_errors_total', { code: 'MACHINE_OPERATION_FAILED' })).toBe(1);
  expect(f.total('vm_operation_errors_total', { code: 'RESOURCE_CONFLICT' })).toBe(1);
  expect(f.labelSetsOf('vm_operation_errors_total').map((l) => l.code)).not.toContain('vm-42-start');
});

test('rollout transitions and verdicts, and HMM fits, count under their own labels', () => {
  const f = fakeMeter();
  const r = createRolloutMetrics(f.meter);
  r.transition('step');
  r.transition('step');
  r.aborted('analysis');
  r.verdict('fail', 'background');
  expect(f.total('rollout_transitions_total', { action: 'step' })).toBe(2);
  expect(f.total('rollout_aborts_total', { reason: 'analysis' })).toBe(1);
  expect(f.total('rollout_analysis_verdicts_total', { verdict: 'fail', analysis: 'background' })).toBe(1);
  expect(f.total('rollout_analysis_verdicts_total', { verdict: 'fail', analysis: 'step' })).toBe(0);

  const h = fakeMeter();
  createHmmMetrics(h.meter).fit('local', 'not_converged', 2.5);
  expect(h.total('hmm_fits_total', { engine: 'local', outcome: 'not_converged' })).toBe(1);
  expect(h.total('hmm_fits_total', { engine: 'local', outcome: 'converged' })).toBe(0);
});
