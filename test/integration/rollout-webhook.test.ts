import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookController } from '../../activities/rollout/webhook-controller';
import { isPermanent } from '../../lib/errors';
import { outboundPolicy, type OutboundRules } from '../../lib/infra/outbound/policy';
import { closeServer, rolloutPorts, startHttpServer } from '../helpers/rollout-services';

/** The webhook controller against a real HTTP router stand-in whose answers the test chooses. */
describe('webhook traffic controller', () => {
  let server: Server;
  let weight = 0;
  let received: { method: string; body: string; auth?: string }[] = [];
  let answer: (req: IncomingMessage, res: ServerResponse) => boolean = () => false;
  const url = `http://127.0.0.1:${rolloutPorts.webhook}/weights/checkout`;
  // The router stand-in listens on loopback, which the policy refuses unless allowed explicitly.
  const policy = outboundPolicy({ allow: [`127.0.0.1:${rolloutPorts.webhook}`], allowPrivate: ['127.0.0.1/32'] });

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
    createWebhookController({ url, target: 'checkout', timeoutMs, token: 's3cret', policy });

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
      policy: outboundPolicy({ allow: [`127.0.0.1:${rolloutPorts.unused}`], allowPrivate: ['127.0.0.1/32'] }),
    });
    await expect(gone.setWeight(10)).rejects.toMatchObject({
      type: 'Unavailable',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });

  describe('outbound policy', () => {
    const port = rolloutPorts.webhook;
    const withRules = (rules: OutboundRules, over: Partial<Parameters<typeof createWebhookController>[0]> = {}) =>
      createWebhookController({
        url,
        target: 'checkout',
        timeoutMs: 2000,
        token: 's3cret',
        policy: outboundPolicy(rules),
        ...over,
      });

    it('refuses a URL the policy does not allow, and sends nothing', async () => {
      await expect(
        withRules({ allow: ['routers.example.com'], allowPrivate: ['127.0.0.1/32'] }).setWeight(30),
      ).rejects.toMatchObject({
        type: 'ValidationError',
        message: expect.stringContaining('is not in OUTBOUND_ALLOW'),
      });
      await expect(withRules({ allow: [`127.0.0.1:${port}`], allowPrivate: [] }).setWeight(30)).rejects.toMatchObject({
        type: 'ValidationError',
        message: expect.stringContaining('127.0.0.1, a loopback address'),
      });
      for (const spelling of ['localhost', '127.1', '2130706433', '0x7f.1', '[::ffff:127.0.0.1]']) {
        const refused = withRules(
          { allow: ['*'], allowPrivate: [] },
          { url: `http://${spelling}:${port}/weights/checkout` },
        );
        await expect(refused.getWeight()).rejects.toMatchObject({ type: 'ValidationError' });
      }
      expect(received).toEqual([]);
    });

    it('connects to the address it checked, and checks again before each call', async () => {
      let answer = '127.0.0.1';
      // A name no real resolver knows: reaching the router proves the connection used the checked address.
      const controller = withRules(
        { allow: [`router.example:${port}`], allowPrivate: ['127.0.0.1/32'] },
        {
          url: `http://router.example:${port}/weights/checkout`,
          resolve: async () => [{ address: answer, family: 4 }],
        },
      );
      await controller.setWeight(40);
      expect(received).toHaveLength(1);
      answer = '10.0.0.7'; // the name now points inside the network
      await expect(controller.setWeight(45)).rejects.toMatchObject({
        type: 'ValidationError',
        message: expect.stringContaining('router.example resolves to 10.0.0.7, a private address'),
      });
      expect(received).toHaveLength(1);
      expect(weight).toBe(40);
    });

    it('sends the token only to a host OUTBOUND_ALLOW names, not to one only `*` lets through', async () => {
      await withRules({ allow: ['*'], allowPrivate: ['127.0.0.1/32'] }).setWeight(35);
      await withRules({ allow: [`127.0.0.1:${port}`], allowPrivate: ['127.0.0.1/32'] }).setWeight(36);
      expect(received.map((r) => r.auth)).toEqual([undefined, 'Bearer s3cret']);
    });

    it('does not follow a redirect', async () => {
      let elsewhere = 0;
      const other = createServer((_req, res) => {
        elsewhere++;
        res.end('{"weight":0}');
      }).listen(0, '127.0.0.1');
      await new Promise((r) => other.once('listening', r));
      try {
        const location = `http://127.0.0.1:${(other.address() as AddressInfo).port}/steal`;
        answer = (_req, res) => {
          res.writeHead(307, { location }).end();
          return true;
        };
        const controller = withRules({ allow: [`127.0.0.1:${port}`], allowPrivate: ['127.0.0.1/32'] });
        await expect(controller.setWeight(60)).rejects.toMatchObject({
          type: 'ValidationError',
          message: expect.stringContaining('HTTP 307 redirect, which is not followed'),
        });
        await expect(controller.getWeight()).rejects.toMatchObject({ type: 'ValidationError' });
        expect(received).toHaveLength(2);
        expect(elsewhere).toBe(0);
      } finally {
        await closeServer(other);
      }
    });
  });
});
