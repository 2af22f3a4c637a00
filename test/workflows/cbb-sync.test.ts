import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SettleOutcome, SyncPlan } from '../../activities/cbb';
import type { CbbFieldValue } from '../../lib/cbb/fields';
import { searchAttributes } from '../../lib/search-attributes';
import { cbbSyncProgress } from '../../lib/cbb/contract';
import { cbbSyncOrder } from '../../workflows/cbb-sync';
import { currentDetails, historyEvents, timerStarts } from '../helpers/run-state';
import { addKeywordAttributes, testWorker, timeSkippingEnv, uniqueTaskQueue } from '../helpers/time-skipping';
import { waitUntil } from '../helpers/wait';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
  await addKeywordAttributes(env, [searchAttributes.orderId, searchAttributes.syncStatus]);
});
afterAll(() => env?.teardown());

const fields: CbbFieldValue[] = [
  { name: 'order_id', id: '701001', value: 'IL-1' },
  { name: 'visa_quantity', id: '701005', value: '2' },
];
const syncPlan: SyncPlan = {
  action: 'sync',
  branch: 'IL',
  externalId: 'IL-1',
  whatsappAlerts: true,
  contact: { phone: '+972501234567', firstName: 'Dana', lastName: 'Levi', fields },
};

/** Fake activities that record calls; each test overrides the ones it exercises. */
function fakes(over: Record<string, (...args: any[]) => Promise<unknown>> = {}) {
  const calls: { name: string; args: unknown[]; at: number }[] = [];
  const record =
    (name: string, fn: (...args: any[]) => Promise<unknown>) =>
    async (...args: unknown[]) => {
      calls.push({ name, args, at: await env.currentTimeMs() });
      return fn(...args);
    };
  const base: Record<string, (...args: any[]) => Promise<unknown>> = {
    loadOrderForSync: async () => syncPlan,
    upsertCbbContact: async () => ({ contactId: '100001', created: true }),
    setCbbContactFields: async () => ({ set: 2, unchanged: 0, hasWhatsapp: true }),
    sendOrderConfirmation: async () => 'sent',
    settleOrder: async () => undefined,
    listPendingOrders: async () => [],
    ...over,
  };
  const activities = Object.fromEntries(Object.entries(base).map(([n, fn]) => [n, record(n, fn)]));
  return { activities, calls, names: () => calls.map((c) => c.name) };
}

async function run(activities: object, orderId = '1') {
  const taskQueue = uniqueTaskQueue('cbb-sync');
  const worker = await testWorker(env, { taskQueue, activities });
  const handle = await env.client.workflow.start(cbbSyncOrder, {
    taskQueue,
    workflowId: `cbb-sync-order-${orderId}-${taskQueue}`,
    args: [{ orderId }],
  });
  // The query needs the worker, so it runs before the worker stops.
  const [outcome, progress] = await worker.runUntil(async () => {
    const o = await handle.result().then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    return [o, await handle.query(cbbSyncProgress)] as const;
  });
  return { handle, outcome, progress };
}

const retryable = (message: string, nextRetryDelay?: `${number}s`) =>
  ApplicationFailure.create({ type: 'Upstream', message, nextRetryDelay });

test('syncs the contact, sets the fields, then sends the confirmation', async () => {
  const f = fakes();
  const { outcome, progress, handle } = await run(f.activities);
  expect(outcome).toEqual({
    ok: true,
    r: { orderId: '1', status: 'confirmed', contactId: '100001', confirmation: 'sent' },
  });
  expect(f.names()).toEqual(['loadOrderForSync', 'upsertCbbContact', 'setCbbContactFields', 'sendOrderConfirmation']);
  expect(f.calls[2].args).toEqual(['1', '100001', fields]);
  expect(progress).toMatchObject({ step: 'done', status: 'confirmed', contactId: '100001' });
  // The 429 path's patch is taken only at a 429: a sync without one records the same commands as before it.
  const markers = (await historyEvents(handle)).map((e) => e.markerRecordedEventAttributes?.markerName);
  expect(markers).not.toContain('core_patch');
});

test('transient CBB failures are retried until they pass', async () => {
  let attempts = 0;
  const f = fakes({
    upsertCbbContact: async () => {
      if (++attempts < 4) throw retryable('CBB find contact: HTTP 503');
      return { contactId: '100002', created: false };
    },
  });
  const { outcome } = await run(f.activities);
  expect(outcome.ok && outcome.r.status).toBe('confirmed');
  expect(attempts).toBe(4);
});

test('a next retry delay the failure asks for (a Retry-After) replaces the policy interval', async () => {
  let attempts = 0;
  const f = fakes({
    setCbbContactFields: async () => {
      if (++attempts === 1)
        throw ApplicationFailure.create({ type: 'Unavailable', message: 'rate limited (429)', nextRetryDelay: '90s' });
      return { set: 2, unchanged: 0, hasWhatsapp: true };
    },
  });
  const { outcome } = await run(f.activities);
  expect(outcome.ok).toBe(true);
  const tries = f.calls.filter((c) => c.name === 'setCbbContactFields');
  expect(tries).toHaveLength(2);
  // The policy's own first interval is 1 s; the server asked for 90.
  expect(tries[1].at - tries[0].at).toBeGreaterThanOrEqual(90_000);
});

const rateLimited = (seconds: number) =>
  ApplicationFailure.create({
    type: 'RateLimited',
    message: 'CBB find contact: rate limited (429)',
    details: [{ upstreamStatus: 429, retryAfterSeconds: seconds }],
    nextRetryDelay: `${seconds}s`,
  });

test("a 429 is waited out on the workflow's own timer while the details say until when, then the step runs again", async () => {
  let attempts = 0;
  const f = fakes({
    upsertCbbContact: async () => {
      if (++attempts === 1) throw rateLimited(90);
      // A retry the policy waits out (longer than the local threshold) after the 429's wait.
      if (attempts === 2) throw retryable('CBB find contact: HTTP 503', '30s');
      return { contactId: '100002', created: false };
    },
  });
  const taskQueue = uniqueTaskQueue('cbb-sync');
  const worker = await testWorker(env, { taskQueue, activities: f.activities });
  const handle = await env.client.workflow.start(cbbSyncOrder, {
    taskQueue,
    workflowId: `cbb-sync-order-1-${taskQueue}`,
    args: [{ orderId: '1' }],
  });
  const result = await worker.runUntil(async () => {
    await waitUntil('a timer for the Retry-After', async () => timerStarts(await historyEvents(handle)).length === 1);
    const history = await historyEvents(handle);
    const [timer] = timerStarts(history);
    expect(Number(timer.timerStartedEventAttributes?.startToFireTimeout?.seconds)).toBe(90);
    const details = await currentDetails(handle);
    const at =
      /^CBB answered 429 \(rate limited\) on finding or creating the contact: retrying at (\S+), after its Retry-After of 90 s$/.exec(
        details ?? '',
      );
    expect(at).not.toBeNull();
    // Workflow time when the 429 arrived, plus 90 s: after the run started, not after the timer did.
    const retryAt = Date.parse(at![1]);
    expect(retryAt).toBeGreaterThanOrEqual(tsToMs(history[0].eventTime) + 90_000);
    expect(retryAt).toBeLessThanOrEqual(tsToMs(timer.eventTime) + 90_000);

    await env.sleep(90_000);
    await waitUntil('the retry after the wait', async () => timerStarts(await historyEvents(handle)).length === 2);
    expect(await currentDetails(handle)).toBe('finding or creating the CBB contact for +972501234567');
    return handle.result();
  });
  expect(result.status).toBe('confirmed');
  expect(attempts).toBe(3);
  // Failures are counted where an order is settled in error: a 429 waited out is none.
  expect(f.names()).not.toContain('settleOrder');
});

test('a 429 on every attempt leaves the order pending after as many waits as the policy has attempts', async () => {
  const f = fakes({
    upsertCbbContact: async () => {
      throw rateLimited(2);
    },
  });
  const { outcome, handle } = await run(f.activities);
  expect(outcome.ok).toBe(false);
  expect(f.calls.filter((c) => c.name === 'upsertCbbContact')).toHaveLength(12);
  expect(timerStarts(await historyEvents(handle))).toHaveLength(11);
  expect(f.calls.at(-1)).toMatchObject({
    name: 'settleOrder',
    args: ['1', { kind: 'error', reason: expect.stringContaining('429'), errorType: 'RateLimited' }],
  });
});

test('an invalid order fails at once, non-retryable, and is marked failed with its reason', async () => {
  const reason = 'phone "12" is not a valid phone number';
  const f = fakes({ loadOrderForSync: async () => ({ action: 'invalid', reason, branch: 'IL' }) });
  const { outcome, progress } = await run(f.activities);
  expect(outcome.ok).toBe(false);
  const err = !outcome.ok ? (outcome.e as WorkflowFailedError) : undefined;
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err?.cause as ApplicationFailure).type).toBe('InvalidOrder');
  expect(f.names()).toEqual(['loadOrderForSync', 'settleOrder']);
  expect(f.calls[1].args[1]).toEqual<SettleOutcome>({ kind: 'invalid', reason });
  expect(progress).toMatchObject({ status: 'failed', reason });
});

test('non-IL and test orders are skipped with their reason and touch no CBB', async () => {
  const f = fakes({
    loadOrderForSync: async () => ({ action: 'skip', reason: 'branch SE does not sync to CBB', branch: 'SE' }),
  });
  const { outcome } = await run(f.activities);
  expect(outcome).toEqual({
    ok: true,
    r: { orderId: '1', status: 'skipped', reason: 'branch SE does not sync to CBB' },
  });
  expect(f.names()).toEqual(['loadOrderForSync', 'settleOrder']);
});

test('partial field failures are retried, and the order is synced only once every field is set', async () => {
  let attempts = 0;
  const f = fakes({
    setCbbContactFields: async () => {
      if (++attempts < 3) throw retryable('1 of 2 custom fields not set: visa_quantity (HTTP 500)');
      return { set: 1, unchanged: 1, hasWhatsapp: true };
    },
  });
  const { outcome } = await run(f.activities);
  expect(outcome.ok && outcome.r.status).toBe('confirmed');
  expect(attempts).toBe(3);
  // No confirmation before the fields were all set.
  const sendAt = f.names().indexOf('sendOrderConfirmation');
  expect(f.names().lastIndexOf('setCbbContactFields')).toBeLessThan(sendAt);
});

test('a field CBB refuses for good fails the order, with no confirmation', async () => {
  const f = fakes({
    setCbbContactFields: async () => {
      throw ApplicationFailure.nonRetryable(
        '1 of 2 custom fields not set: visa_quantity (Invalid value)',
        'ValidationError',
      );
    },
  });
  const { outcome } = await run(f.activities);
  expect(outcome.ok).toBe(false);
  expect(f.names()).toEqual(['loadOrderForSync', 'upsertCbbContact', 'setCbbContactFields', 'settleOrder']);
  expect((f.calls[3].args[1] as SettleOutcome).kind).toBe('invalid');
});

test('when retries run out the order stays pending with its last error, for the next sweep', async () => {
  const f = fakes({
    upsertCbbContact: async () => {
      throw retryable('CBB find contact: no answer within 10000 ms', '1s');
    },
  });
  const { outcome } = await run(f.activities);
  expect(outcome.ok).toBe(false);
  expect(f.calls.filter((c) => c.name === 'upsertCbbContact')).toHaveLength(12);
  expect(f.calls.at(-1)).toMatchObject({
    name: 'settleOrder',
    args: ['1', { kind: 'error', reason: expect.stringContaining('no answer') }],
  });
});

test('a retried send that finds its confirmation already sent does not send again', async () => {
  // The activity's guard (tested against Postgres in test/integration/cbb-confirmation) answers
  // already-sent on the retry; the workflow takes that as confirmed and calls nothing else.
  let attempts = 0;
  const f = fakes({
    sendOrderConfirmation: async () => {
      if (++attempts === 1) throw retryable('worker lost the answer');
      return 'already-sent';
    },
  });
  const { outcome } = await run(f.activities);
  expect(outcome).toEqual({
    ok: true,
    r: expect.objectContaining({ status: 'confirmed', confirmation: 'already-sent' }),
  });
  expect(attempts).toBe(2);
});

test.each([
  [false, true, 'the customer did not ask for WhatsApp alerts'],
  [true, false, 'the contact has no WhatsApp'],
])('no confirmation when alerts=%s and WhatsApp=%s', async (alerts, hasWhatsapp, reason) => {
  const f = fakes({
    loadOrderForSync: async () => ({ ...syncPlan, whatsappAlerts: alerts }),
    setCbbContactFields: async () => ({ set: 2, unchanged: 0, hasWhatsapp }),
  });
  const { outcome } = await run(f.activities);
  expect(outcome).toEqual({
    ok: true,
    r: expect.objectContaining({ status: 'synced', confirmation: 'skipped', reason }),
  });
  expect(f.names()).not.toContain('sendOrderConfirmation');
  expect(f.calls.at(-1)?.args[1]).toEqual({ kind: 'whatsapp-skipped', reason });
});

describe('a send refused because the contact is gone', () => {
  const gone = (contactId: string) =>
    ApplicationFailure.create({
      type: 'NotFound',
      message: `CBB contact ${contactId} is gone: CBB send: not found (HTTP 404)`,
      nonRetryable: true,
      details: [{ upstreamStatus: 404, contactGone: contactId }],
    });

  test('makes the contact again through the upsert, sets its fields, sends once more, and confirms', async () => {
    let sends = 0;
    const f = fakes({
      upsertCbbContact: async (_order: string, _draft: unknown, again?: { replacing: string }) => ({
        contactId: again ? '100002' : '100001',
        created: true,
      }),
      sendOrderConfirmation: async (_order: string, contactId: string) => {
        if (sends++ === 0) throw gone(contactId);
        return 'sent';
      },
    });
    const { outcome, progress } = await run(f.activities);
    expect(outcome).toEqual({
      ok: true,
      r: { orderId: '1', status: 'confirmed', contactId: '100002', confirmation: 'sent' },
    });
    expect(progress.contactId).toBe('100002');
    expect(f.names()).toEqual([
      'loadOrderForSync',
      'upsertCbbContact',
      'setCbbContactFields',
      'sendOrderConfirmation',
      'upsertCbbContact',
      'setCbbContactFields',
      'sendOrderConfirmation',
    ]);
    expect(f.calls[4].args[2]).toEqual({ replacing: '100001' });
    expect(f.calls[6].args[1]).toBe('100002');
  });

  test('a second refusal ends the confirmation failed with a reason that says so, the order not called invalid', async () => {
    const f = fakes({
      upsertCbbContact: async (_order: string, _draft: unknown, again?: { replacing: string }) => ({
        contactId: again ? '100002' : '100001',
        created: true,
      }),
      sendOrderConfirmation: async (_order: string, contactId: string) => {
        throw gone(contactId);
      },
    });
    const { outcome } = await run(f.activities);
    const reason = 'the CBB contact was gone at send time twice: 100001, then 100002 made again for the order';
    expect(outcome).toEqual({
      ok: true,
      r: { orderId: '1', status: 'synced', contactId: '100002', confirmation: 'failed', reason },
    });
    expect(f.names().filter((n) => n === 'sendOrderConfirmation')).toHaveLength(2);
    const settled = f.calls.filter((c) => c.name === 'settleOrder').map((c) => c.args[1]);
    expect(settled).toEqual([{ kind: 'confirmation-failed', reason }]);
  });
});
