import { noFaults } from '../../scripts/cbb-server/store';
import { cbbAdmin, createOrder, settleOrders } from './cbb';
import { connectStack, type StackHandles } from './stack';

/**
 * What a CBB integration file sets up around its tests: the stack and the local CBB
 * server's admin side before the file, the server's log (and faults) reset before each
 * test, and after the file every fault knob off and none of the file's orders left
 * pending for another file's sweep. Read `stack` and `cbb` inside hooks and tests.
 */
export function cbbTestFile() {
  const orders: string[] = [];
  const file = {
    stack: undefined as unknown as StackHandles,
    cbb: undefined as unknown as ReturnType<typeof cbbAdmin>,
    /** An order of this file (settled after it), with the given overrides. */
    async newOrder(over: Parameters<typeof createOrder>[1] = {}): Promise<string> {
      const id = await createOrder(file.stack.pool, over);
      orders.push(id);
      return id;
    },
  };
  beforeAll(async () => {
    file.stack = await connectStack();
    file.cbb = cbbAdmin(file.stack.config.cbb);
  });
  afterAll(async () => {
    await file.cbb?.faults(noFaults);
    if (file.stack) await settleOrders(file.stack.pool, orders);
    await file.stack?.close();
  });
  beforeEach(() => file.cbb.reset());
  return file;
}
