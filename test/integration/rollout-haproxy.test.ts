import type { Server } from 'node:http';
import { AppError } from '../../lib/errors';
import { createHaproxyController, runtimeCommands } from '../../activities/rollout/haproxy-controller';
import {
  closeServer,
  rolloutPorts,
  startHaproxy,
  startHttpServer,
  type HaproxyHandle,
} from '../helpers/rollout-services';

/** HAProxy (the Debian package) in front of a stable and a canary server, weights set on its admin socket. */
describe('HAProxy traffic controller', () => {
  let haproxy: HaproxyHandle;
  let stable: Server;
  let canary: Server;

  beforeAll(async () => {
    stable = await startHttpServer(rolloutPorts.stable, (_req, res) => res.end('stable'));
    canary = await startHttpServer(rolloutPorts.canary, (_req, res) => res.end('canary'));
    haproxy = await startHaproxy();
  }, 90_000);

  afterAll(async () => {
    await haproxy?.stop();
    await Promise.all([closeServer(stable), closeServer(canary)]);
  });

  const controller = () =>
    createHaproxyController({
      socketPath: haproxy.socketPath,
      backend: 'app',
      canaryServer: 'canary',
      stableServer: 'stable',
    });
  const served = async (requests: number) => {
    const counts: Record<string, number> = { stable: 0, canary: 0 };
    for (let i = 0; i < requests; i++) {
      const res = await fetch(`${haproxy.url}/`, { headers: { connection: 'close' } });
      counts[await res.text()]++;
    }
    return counts;
  };

  it('starts with all traffic on stable', async () => {
    expect(await controller().getWeight()).toBe(0);
    expect(await served(10)).toEqual({ stable: 10, canary: 0 });
  });

  it('sets canary and stable weights together, and the traffic follows', async () => {
    const c = controller();
    await c.setWeight(25);
    expect(await c.getWeight()).toBe(25);
    const raw = await runtimeCommands(haproxy.socketPath, ['get weight app/canary', 'get weight app/stable'], 2000);
    expect(raw.map((r) => r.trim())).toEqual(['25 (initial 0)', '75 (initial 100)']);

    await c.setWeight(100);
    expect(await served(10)).toEqual({ stable: 0, canary: 10 });
    await c.setWeight(50);
    const half = await served(20);
    expect(half.stable).toBeGreaterThan(0);
    expect(half.canary).toBeGreaterThan(0);
    // Setting the same weight again (a retried activity) changes nothing.
    await c.setWeight(50);
    expect(await c.getWeight()).toBe(50);
  });

  it('goes to weight 0 in one call: no request reaches the canary afterwards', async () => {
    const c = controller();
    await c.setWeight(100);
    await c.setWeight(0);
    expect(await c.getWeight()).toBe(0);
    expect(await served(10)).toEqual({ stable: 10, canary: 0 });
  });

  it('turns HAProxy refusals into permanent errors with its message', async () => {
    const wrongServer = createHaproxyController({
      socketPath: haproxy.socketPath,
      backend: 'app',
      canaryServer: 'nope',
      stableServer: 'stable',
    });
    const err = await wrongServer.setWeight(10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ type: 'ValidationError', message: expect.stringContaining('No such server.') });
    const wrongBackend = createHaproxyController({
      socketPath: haproxy.socketPath,
      backend: 'nope',
      canaryServer: 'canary',
      stableServer: 'stable',
    });
    await expect(wrongBackend.getWeight()).rejects.toMatchObject({
      type: 'ValidationError',
      message: expect.stringContaining('No such backend.'),
    });
    await expect(controller().setWeight(101)).rejects.toMatchObject({
      type: 'ValidationError',
      message: 'weight must be a whole number from 0 to 100, got 101',
    });
  });

  it('reports a missing socket as unavailable (transient)', async () => {
    const gone = createHaproxyController({
      socketPath: `${haproxy.socketPath}.missing`,
      backend: 'app',
      canaryServer: 'canary',
      stableServer: 'stable',
    });
    await expect(gone.setWeight(10)).rejects.toMatchObject({
      type: 'Unavailable',
      message: expect.stringContaining('ENOENT'),
    });
  });
});
