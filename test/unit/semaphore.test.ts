import { Semaphore } from '../../lib/infra/semaphore';

const tick = () => new Promise((r) => setImmediate(r));

test('holds at most `size` at once and lets the waiters in first come, first served', async () => {
  const sem = new Semaphore(2);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const gates = Array.from({ length: 5 }, () => {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    return { open, opened };
  });
  const runs = gates.map((g, i) =>
    sem.use(async () => {
      order.push(i);
      most = Math.max(most, ++running);
      await g.opened;
      running--;
      return i;
    }),
  );
  await tick();
  expect(order).toEqual([0, 1]);
  gates[1].open();
  await tick();
  expect(order).toEqual([0, 1, 2]);
  gates.forEach((g) => g.open());
  expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
  expect(order).toEqual([0, 1, 2, 3, 4]);
  expect(most).toBe(2);
});

test('a holder that throws gives its slot back', async () => {
  const sem = new Semaphore(1);
  await expect(sem.use(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect(await sem.use(async () => 'next')).toBe('next');
});

test('a size below 1 is refused', () => {
  expect(() => new Semaphore(0)).toThrow(RangeError);
});
