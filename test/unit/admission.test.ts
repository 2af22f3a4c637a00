import { createAdmission } from '../../api/admission';

afterEach(() => jest.useRealTimers());

test('admits up to maxInFlight at once, queues up to maxQueued, and refuses the rest at once', async () => {
  const admission = createAdmission({ maxInFlight: 2, maxQueued: 1, queueMs: 1000 });
  const a = admission.enter();
  const b = admission.enter();
  const c = admission.enter();
  const d = admission.enter();
  expect(await a.admitted).toBe(true);
  expect(await b.admitted).toBe(true);
  expect(await d.admitted).toBe('full');
  expect([admission.inFlight, admission.queued]).toEqual([2, 1]);
  // A slot given back goes to the one waiting, which is then counted in flight.
  a.leave();
  expect(await c.admitted).toBe(true);
  expect([admission.inFlight, admission.queued]).toEqual([2, 0]);
  b.leave();
  c.leave();
  expect(admission.inFlight).toBe(0);
});

test('serves waiters first come, first served', async () => {
  const admission = createAdmission({ maxInFlight: 1, maxQueued: 3, queueMs: 1000 });
  const first = admission.enter();
  const order: number[] = [];
  const waiting = [1, 2, 3].map((n) => {
    const t = admission.enter();
    void t.admitted.then(() => order.push(n));
    return t;
  });
  first.leave();
  await waiting[0].admitted;
  waiting[0].leave();
  await waiting[1].admitted;
  waiting[1].leave();
  await waiting[2].admitted;
  expect(order).toEqual([1, 2, 3]);
});

test('a waiter whose wait runs out is refused and leaves the queue; the slot it waited for goes to the next', async () => {
  jest.useFakeTimers();
  const admission = createAdmission({ maxInFlight: 1, maxQueued: 2, queueMs: 500 });
  const holder = admission.enter();
  const early = admission.enter();
  jest.advanceTimersByTime(300);
  const late = admission.enter();
  jest.advanceTimersByTime(200);
  expect(await early.admitted).toBe('waited');
  expect(admission.queued).toBe(1);
  holder.leave();
  expect(await late.admitted).toBe(true);
  expect([admission.inFlight, admission.queued]).toEqual([1, 0]);
});

test('a client that leaves while waiting frees its place, and leaving twice gives back one slot', async () => {
  const admission = createAdmission({ maxInFlight: 1, maxQueued: 1, queueMs: 1000 });
  const holder = admission.enter();
  const gone = admission.enter();
  gone.leave();
  expect(await gone.admitted).toBe('waited');
  expect(admission.queued).toBe(0);
  const next = admission.enter();
  expect(admission.queued).toBe(1);
  holder.leave();
  holder.leave();
  expect(await next.admitted).toBe(true);
  expect(admission.inFlight).toBe(1);
  next.leave();
  expect(admission.inFlight).toBe(0);
  // A refused ticket holds nothing to give back.
  const full = createAdmission({ maxInFlight: 1, maxQueued: 0, queueMs: 1000 });
  full.enter();
  const refused = full.enter();
  expect(await refused.admitted).toBe('full');
  refused.leave();
  expect(full.inFlight).toBe(1);
});
