import { createLibvirtPool, type LibvirtPool } from '../../activities/vm/pool';
import { AppError } from '../../lib/errors';
import { vmErrorCode } from '../../lib/vm/errors';
import { libvirtdClients, ownLibvirtdClients, testLibvirtd, until } from '../helpers/libvirtd';

/** The libvirt connection pool under load, against the test libvirtd. */

let lv: Awaited<ReturnType<typeof testLibvirtd>>;
const pools: LibvirtPool[] = [];

const pool = (opts: Parameters<typeof createLibvirtPool>[0]) => {
  const p = createLibvirtPool(opts);
  pools.push(p);
  return p;
};

/** A promise with its resolve function, to hold a connection until the test lets go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  lv = await testLibvirtd();
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.drain().catch(() => undefined)));
  await lv?.release();
});

describe('libvirt connection pool', () => {
  it('serves 600 concurrent borrowers on at most 10 connections, and leaks none', async () => {
    const before = await ownLibvirtdClients();
    const p = pool({ uri: lv.uri });
    let inUse = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 600 }, (_, i) =>
        p.use(async (conn) => {
          inUse += 1;
          peak = Math.max(peak, inUse);
          try {
            // Mixed calls, each a real round trip to libvirtd. None returns a Domain: libvirt keeps a
            // connection open while a Domain of it lives, and a Domain lives until the garbage collector
            // frees it, so the drain below would wait on the collector instead of on the pool.
            return i % 2 ? (await conn.connectListDomains()).length : (await conn.connectGetHostname()).length;
          } finally {
            inUse -= 1;
          }
        }),
      ),
    );
    expect(results).toHaveLength(600);
    expect(results.every((n) => n >= 1)).toBe(true); // the test driver's own "test" domain runs; a hostname
    const s = p.stats();
    expect(peak).toBeLessThanOrEqual(10);
    expect(peak).toBeGreaterThan(1);
    expect(s).toMatchObject({ borrowed: 0, pending: 0, acquired: 600, timeouts: 0, createErrors: 0 });
    expect(s.size).toBeLessThanOrEqual(10);
    expect(s.created).toBeLessThanOrEqual(10);
    expect(s.waits.count).toBe(600);
    // libvirtd counts exactly the pool's connections as new clients of this process.
    const opened = [...(await ownLibvirtdClients())].filter((id) => !before.has(id));
    expect(opened).toHaveLength(s.size);
    await p.drain();
    await until(`the pool's ${opened.length} connections to leave libvirtd after the drain`, async () => {
      const now = await libvirtdClients();
      return opened.every((id) => !now.has(id));
    });
    expect(p.stats()).toMatchObject({ size: 0, destroyed: s.created });
  });

  it('refuses with RESOURCE_EXHAUSTED when no connection frees up within the acquire timeout', async () => {
    const p = pool({ uri: lv.uri, min: 0, max: 2, acquireTimeoutMs: 300 });
    const hold = gate();
    const held = [0, 1].map(() => p.use(() => hold.opened));
    await until('both connections lent', async () => p.stats().borrowed === 2);
    const err = await failure(p.use(async () => 'never'));
    expect(vmErrorCode(err)).toBe('RESOURCE_EXHAUSTED');
    expect(err.type).toBe('Unavailable');
    expect(err.message).toMatch(/no libvirt connection free after \d+ ms: all 2 of 2 busy/);
    expect(err.details?.waitedMs).toBeGreaterThanOrEqual(290);
    hold.open();
    await Promise.all(held);
    expect(await p.use(async (conn) => (await conn.connectListDomains()).length)).toBeGreaterThanOrEqual(1);
    expect(p.stats()).toMatchObject({ borrowed: 0, pending: 0, timeouts: 1 });
  });

  it('queues borrowers beyond the pool and serves them in turn, each wait measured', async () => {
    const waits: number[] = [];
    const p = pool({ uri: lv.uri, min: 0, max: 1, observeWait: (ms) => waits.push(ms) });
    const hold = gate();
    const first = p.use(() => hold.opened);
    await until('the connection lent', async () => p.stats().borrowed === 1);
    const queued = [1, 2, 3].map((n) => p.use(async () => n));
    await until('three borrowers queued', async () => p.stats().pending === 3);
    hold.open();
    expect(await Promise.all(queued)).toEqual([1, 2, 3]);
    await first;
    expect(waits).toHaveLength(4);
    expect(p.stats().waits.maxMs).toBe(Math.max(...waits));
  });

  it('closes idle connections beyond the minimum', async () => {
    const p = pool({ uri: lv.uri, min: 1, max: 5, idleTimeoutMs: 100, evictionRunIntervalMs: 50 });
    const hold = gate();
    const held = Array.from({ length: 5 }, () => p.use(() => hold.opened));
    await until('five connections lent', async () => p.stats().borrowed === 5);
    hold.open();
    await Promise.all(held);
    await until('the pool back at its minimum', async () => p.stats().size === 1);
    expect(p.stats().destroyed).toBe(4);
  });

  it('says libvirt is unreachable, not busy, when no connection can be opened', async () => {
    const p = pool({ uri: 'test+unix:///default?socket=/nonexistent/libvirt-sock', min: 0, acquireTimeoutMs: 1_000 });
    const err = await failure(p.use(async () => 'never'));
    expect(vmErrorCode(err)).toBe('LIBVIRT_CONNECTION_FAILED');
    expect(err.message).toMatch(/cannot connect to libvirt at test\+unix:.*nonexistent/);
    expect(p.stats().createErrors).toBeGreaterThanOrEqual(1);
  });

  it('drains gracefully: lent connections finish, new borrowers are refused', async () => {
    const p = pool({ uri: lv.uri, min: 2, max: 3 });
    const hold = gate();
    const busy = p.use(async (conn) => {
      await hold.opened;
      return (await conn.connectListDomains()).length;
    });
    await until('a connection lent', async () => p.stats().borrowed === 1);
    const drained = p.drain();
    const refused = await failure(p.use(async () => 'late'));
    expect(vmErrorCode(refused)).toBe('LIBVIRT_CONNECTION_FAILED');
    hold.open();
    expect(await busy).toBeGreaterThanOrEqual(1);
    await drained;
    expect(p.stats()).toMatchObject({ size: 0, borrowed: 0 });
  });
});
