import { apiTestPorts, startTestApi, type TestApi } from '../helpers/api-server';
import { connectStack, type StackHandles } from '../helpers/stack';
import { uniqueTaskQueue } from '../helpers/time-skipping';

/**
 * The API holds a rollout's webhook to the outbound policy before it starts anything:
 * every spelling of a loopback, private or link-local address, and names that resolve
 * to one, are a 400 naming `traffic.url`, even when OUTBOUND_ALLOW lets any host out.
 */
let stack: StackHandles;
let open: TestApi;
let lab: TestApi;
const taskQueue = uniqueTaskQueue('rollout-outbound'); // no worker polls it: a started rollout only waits
const target = `outbound-${Date.now().toString(36)}`;
const started: string[] = [];

beforeAll(async () => {
  stack = await connectStack();
  const temporal = { ...stack.config.temporal, taskQueue };
  open = await startTestApi(stack, apiTestPorts.first + 50, {
    config: { temporal, outbound: { allow: ['*'], allowPrivate: [] } },
  });
  // A lab where one loopback router is allowed explicitly, as the stack's tests configure theirs.
  lab = await startTestApi(stack, apiTestPorts.first + 51, {
    config: { temporal, outbound: { allow: ['127.0.0.1:9009'], allowPrivate: ['127.0.0.1/32'] } },
  });
});
afterAll(async () => {
  for (const id of started) {
    await stack.client.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
  }
  await open?.close();
  await lab?.close();
  await stack?.close();
});

const webhookSpec = (url: string) => ({ target, traffic: { controller: 'webhook', url } });

describe('a rollout whose webhook the outbound policy refuses', () => {
  it.each([
    'http://localhost:9009/w',
    'http://localhost.:9009/w',
    'http://LocalHost/w',
    'http://127.0.0.1:9009/w',
    'http://127.1/w',
    'http://2130706433/w',
    'http://0x7f.1/w',
    'http://0177.0.0.1/w',
    'http://[::1]/w',
    'http://[::ffff:127.0.0.1]/w',
    'http://0.0.0.0/w',
    'http://10.1.2.3/w',
    'http://192.168.0.10/w',
    'http://172.20.0.1/w',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00::1]/w',
    'http://100.64.1.1/w',
  ])('is refused at start: %s', async (url) => {
    const res = await open.api.post('/api/v1/rollouts', webhookSpec(url));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: 'traffic.url', message: expect.stringMatching(/, a [\w -]+ address, which OUTBOUND_ALLOW_PRIVATE/) },
    ]);
    expect(res.body.detail).toMatch(/^traffic\.url: /);
  });

  it('is refused when its host is not listed, and started when the host and its range are', async () => {
    const unlisted = await lab.api.post('/api/v1/rollouts', webhookSpec('http://127.0.0.1:9010/w'));
    expect(unlisted.status).toBe(400);
    expect(unlisted.body.errors).toEqual([
      { field: 'traffic.url', message: expect.stringContaining('host 127.0.0.1:9010 is not in OUTBOUND_ALLOW') },
    ]);
    expect((await lab.api.post('/api/v1/rollouts', webhookSpec('http://localhost:9009/w'))).status).toBe(400);

    const res = await lab.api.post('/api/v1/rollouts', webhookSpec('http://127.1:9009/w'));
    expect(res.status).toBe(201);
    started.push(res.body.id as string);
    // Nothing was started for the refused ones: the only rollout of this target is the allowed one.
    expect(res.body.id).toBe(`rollout-${target}`);
  });
});
