import { syncProgressOf, type StoredSyncState } from '../../lib/cbb/sync-progress';

const row = (over: Partial<StoredSyncState>): StoredSyncState => ({
  cbbStatus: 'pending',
  cbbStep: null,
  whatsappStatus: 'pending',
  ...over,
});

test('an order no run has begun has no progress', () => {
  expect(syncProgressOf(row({}))).toEqual({ step: null, status: null, running: false });
});

test('a run is syncing until its fields are set, then synced until it ends', () => {
  expect(syncProgressOf(row({ cbbStep: 'loading' }))).toEqual({ step: 'loading', status: 'syncing', running: true });
  expect(syncProgressOf(row({ cbbStep: 'contact' }))).toEqual({ step: 'contact', status: 'syncing', running: true });
  expect(syncProgressOf(row({ cbbStep: 'fields', cbbStatus: 'synced' }))).toEqual({
    step: 'fields',
    status: 'synced',
    running: true,
  });
});

test('an ended run says how it ended, in the workflow’s words', () => {
  const done = (over: Partial<StoredSyncState>) => syncProgressOf(row({ cbbStep: 'done', ...over }));
  expect(done({ cbbStatus: 'synced', whatsappStatus: 'sent' })).toEqual({
    step: 'done',
    status: 'confirmed',
    running: false,
  });
  expect(done({ cbbStatus: 'synced', whatsappStatus: 'unconfirmed' }).status).toBe('synced');
  expect(done({ cbbStatus: 'synced', whatsappStatus: 'skipped' }).status).toBe('synced');
  expect(done({ cbbStatus: 'skipped', whatsappStatus: 'skipped' }).status).toBe('skipped');
  expect(done({ cbbStatus: 'failed', whatsappStatus: 'skipped' }).status).toBe('failed');
  // Not synced and not refused for good: the sweep runs it again.
  expect(done({ cbbStatus: 'pending' }).status).toBe('error');
});

test('a run whose confirmation an earlier run settled has nothing left to record after its fields', () => {
  for (const whatsappStatus of ['sent', 'unconfirmed'] as const)
    expect(syncProgressOf(row({ cbbStep: 'fields', cbbStatus: 'synced', whatsappStatus })).running).toBe(false);
  // A confirmation still to send (or to send again after a failure) keeps the run going.
  for (const whatsappStatus of ['pending', 'failed', 'skipped'] as const)
    expect(syncProgressOf(row({ cbbStep: 'fields', cbbStatus: 'synced', whatsappStatus })).running).toBe(true);
});
