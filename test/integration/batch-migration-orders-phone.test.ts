import { startReverse, startRun } from '../../store/batch-migration/start';
import { connectStack, stackWorker, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

/**
 * orders-phone-e164, the worker-computed migration, on the real orders table. The
 * orders are `skipped` for CBB so the sync never touches them, and removed afterwards.
 */
let stack: StackHandles;
const taskQueue = uniqueTaskQueue('it-orders-phone');
const typed: [string, string, string | null][] = [
  ['mig-phone-1', 'IL', '050-123-4567'],
  ['mig-phone-2', 'IL', '+972 50 123 4567'],
  ['mig-phone-3', 'IL', '00972501234567'],
  ['mig-phone-4', 'IL', 'not a number'],
  ['mig-phone-5', 'IL', null],
  ['mig-phone-6', 'US', '(201) 555-0123'],
];
const phones = async () =>
  (
    await stack.pool.query(`SELECT phone FROM orders WHERE external_id LIKE 'mig-phone-%' ORDER BY external_id`)
  ).rows.map((r) => r.phone);

beforeAll(async () => {
  stack = await connectStack();
  await stack.pool.query(`DELETE FROM orders WHERE external_id LIKE 'mig-phone-%'`);
  for (const [externalId, branch, phone] of typed) {
    await stack.pool.query(
      `INSERT INTO orders (external_id, branch, customer_name, phone, cbb_status) VALUES ($1, $2, 'Test', $3, 'skipped')`,
      [externalId, branch, phone],
    );
  }
}, 60_000);
afterAll(async () => {
  await stack?.pool.query(`DELETE FROM orders WHERE external_id LIKE 'mig-phone-%'`);
  await stack?.close();
});

test('normalises phones to E.164 in the branch country, keeps what it cannot read, and reverses', async () => {
  const ctx = { client: stack.client, pool: stack.pool, taskQueue };
  const worker = await stackWorker(stack, { taskQueue });
  await worker.runUntil(async () => {
    const run = await startRun(ctx, 'orders-phone-e164', { batchSize: 10, dryRun: false, partitions: 1 });
    const result = await stack.client.workflow.getHandle(run.id).result();
    expect(result).toMatchObject({ state: 'completed', verify: { ok: true, invalidRows: 0 } });
    expect(await phones()).toEqual([
      '+972501234567',
      '+972501234567',
      '+972501234567',
      'not a number',
      null,
      '+12015550123',
    ]);

    const reverse = await startReverse(ctx, run.id);
    expect(await stack.client.workflow.getHandle(reverse.id).result()).toMatchObject({
      state: 'completed',
      verify: { ok: true },
    });
    expect(await phones()).toEqual(typed.map(([, , phone]) => phone));
  });
}, 120_000);
