import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createWebhookController } from '../../activities/rollout/webhook-controller';
import { isPermanent } from '../../lib/errors';
import { closeServer, rolloutPorts, startHttpServer } from '../helpers/rollout-services';

/** The webhook controller against a real HTTP router stand-in whose answers the test chooses. */
describe('webhook traffic controller', () => {
  let server: Server;
  let weight = 0;
  let received: { method: string; body: string; auth?: string }[] = [];
  let answer: (req: IncomingMessage, res: ServerResponse) => boolean = () => false;
  const url = `http://127.0.0.1:${rolloutPorts.webhook}/weights/checkout`;

  beforeAll(async () => {
    server = await startHttpServer(rolloutPorts.webhook, (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ method: req.method ?? '', body, auth: req.headers.authorization });
        if (answer(req, res)) return;
        if (req.method === 'POST') weight = (JSON.parse(body) as { weight: number }).weight;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ weight }));
      });
    });
  });
  afterAll(() => closeServer(server));
  beforeEach(() => {
    received = [];
    answer = () => false;
  });

  const controller = (timeoutMs = 2000) =>
    createWebhookController({ url, target: 'checkout', timeoutMs, token: 's3cret' });

  it('POSTs the new weight with the target and reads it back', async () => {
    await controller().setWeight(25);
    expect(received[0]).toEqual({ method: 'POST', body: '{"target":"checkout","weight":25}', auth: 'Bearer s3cret' });
    expect(await controller().getWeight()).toBe(25);
  });

  it('treats 4xx as permanent and 5xx, 429 and timeouts as transient', async () => {
    await controller().setWeight(25);
    const status = (code: number, headers: Record<string, string> = {}) => {
      answer = (_req, res) => {
        res.writeHead(code, headers).end('router says no');
        return true;
      };
      return controller()
        .setWeight(50)
        .catch((e: { type: string; message: string; details?: Record<string, unknown> }) => e);
    };
    const bad = await status(400);
    expect(bad).toMatchObject({ type: 'ValidationError', message: `webhook POST ${url}: HTTP 400 router says no` });
    expect(isPermanent((bad as { type: 'ValidationError' }).type)).toBe(true);
    expect(await status(403)).toMatchObject({ type: 'Unauthorized' });
    expect(await status(404)).toMatchObject({ type: 'NotFound' });
    const down = await status(503);
    expect(down).toMatchObject({ type: 'Upstream', details: { upstreamStatus: 503 } });
    expect(isPermanent((down as { type: 'Upstream' }).type)).toBe(false);
    expect(await status(429, { 'retry-after': '7' })).toMatchObject({
      type: 'Unavailable',
      details: { retryAfterSeconds: 7 },
    });
    expect(weight).toBe(25); // none of those moved the weight

    answer = () => true; // never answers
    await expect(controller(300).setWeight(50)).rejects.toMatchObject({
      type: 'Unavailable',
      message: `webhook POST ${url} did not answer within 300 ms`,
    });
  });

  it('refuses a GET answer that is not a weight', async () => {
    answer = (_req, res) => {
      res.end('{"weight":"lots"}');
      return true;
    };
    await expect(controller().getWeight()).rejects.toMatchObject({
      type: 'Upstream',
      message: `webhook GET ${url} must answer {"weight": 0..100}, got {"weight":"lots"}`,
    });
  });

  it('reports a refused connection as unavailable', async () => {
    const gone = createWebhookController({
      url: `http://127.0.0.1:${rolloutPorts.unused}/weights`,
      target: 'checkout',
      timeoutMs: 1000,
    });
    await expect(gone.setWeight(10)).rejects.toMatchObject({
      type: 'Unavailable',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });
});
