import { createPool, type Pool } from 'generic-pool';
import { errorMessage } from '../../lib/errors';
import { vmError, vmErrorCode } from '../../lib/vm/errors';
import { loadLibvirt, type Hypervisor } from './libvirt';
import { fromLibvirt } from './libvirt-errors';

/**
 * A pool of libvirt connections on generic-pool. A connection through libvirtd costs a
 * socket handshake and an authentication round; reusing one is several times faster per
 * operation. The defaults are the numbers the VM backend ran with: 2 to 10 connections,
 * 30 s to wait for one, idle ones beyond the minimum closed after 60 s.
 */

export interface LibvirtPoolOptions {
  uri: string;
  min?: number;
  max?: number;
  acquireTimeoutMs?: number;
  /** A connection beyond `min` idle this long is closed; the minimum stay open and are checked on borrow. */
  idleTimeoutMs?: number;
  evictionRunIntervalMs?: number;
  /** Requests allowed to queue for a connection; one more is refused at once. */
  maxWaiting?: number;
  /** A connection used successfully this recently is lent without a check round trip. */
  trustRecentMs?: number;
  /** Called with every wait for a connection, for a histogram. */
  observeWait?: (ms: number) => void;
  /** Opens no connection before the first borrower: a worker that never runs a VM activity never dials libvirt. */
  lazy?: boolean;
  /** Opens a connection; the default opens one with the libvirt binding. */
  open?: (uri: string) => Promise<Hypervisor>;
}

export interface PoolStats {
  min: number;
  max: number;
  size: number;
  available: number;
  borrowed: number;
  pending: number;
  created: number;
  destroyed: number;
  createErrors: number;
  acquired: number;
  timeouts: number;
  waits: { count: number; totalMs: number; maxMs: number };
}

export interface LibvirtPool {
  /** Lends a connection to `fn` and takes it back when its promise settles; a broken connection is closed instead. */
  use<T>(fn: (conn: Hypervisor) => Promise<T>): Promise<T>;
  stats(): PoolStats;
  /** Refuses new borrowers, waits for lent connections to return, then closes them all. */
  drain(): Promise<void>;
}

interface Connection {
  hypervisor: Hypervisor;
  lastOkAt: number;
}

export const poolDefaults = {
  min: 2,
  max: 10,
  acquireTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  evictionRunIntervalMs: 10_000,
  maxWaiting: 10_000,
  trustRecentMs: 1_000,
};

async function openWithBinding(uri: string): Promise<Hypervisor> {
  const { Hypervisor } = await loadLibvirt();
  const hypervisor = new Hypervisor({ uri });
  await hypervisor.connectOpen();
  return hypervisor;
}

export function createLibvirtPool(options: LibvirtPoolOptions): LibvirtPool {
  const o = { ...poolDefaults, ...options };
  const open = o.open ?? openWithBinding;
  const counts = { created: 0, destroyed: 0, createErrors: 0, acquired: 0, timeouts: 0 };
  const waits = { count: 0, totalMs: 0, maxMs: 0 };
  let lastCreateError: { at: number; message: string } | undefined;

  const pool: Pool<Connection> = createPool<Connection>(
    {
      async create() {
        try {
          const hypervisor = await open(o.uri);
          counts.created += 1;
          lastCreateError = undefined;
          return { hypervisor, lastOkAt: Date.now() };
        } catch (err) {
          counts.createErrors += 1;
          lastCreateError = { at: Date.now(), message: errorMessage(err) };
          throw err;
        }
      },
      async destroy(conn) {
        counts.destroyed += 1;
        // libvirt holds the socket open until the Domains of this connection are freed too, which
        // the garbage collector does: the adapter keeps no Domain past its call, so that is soon.
        await conn.hypervisor.connectClose().catch(() => undefined);
      },
      async validate(conn) {
        if (Date.now() - conn.lastOkAt < o.trustRecentMs) return true;
        try {
          await conn.hypervisor.connectGetHostname();
          conn.lastOkAt = Date.now();
          return true;
        } catch {
          return false;
        }
      },
    },
    {
      min: o.min,
      max: o.max,
      acquireTimeoutMillis: o.acquireTimeoutMs,
      softIdleTimeoutMillis: o.idleTimeoutMs,
      // generic-pool's hard idle limit would close even the minimum: they stay, checked on borrow instead.
      idleTimeoutMillis: Infinity,
      evictionRunIntervalMillis: o.evictionRunIntervalMs,
      numTestsPerEvictionRun: o.max,
      testOnBorrow: true,
      maxWaitingClients: o.maxWaiting,
      autostart: !o.lazy,
    },
  );
  // Errors of create are counted above and surface to the borrower as LIBVIRT_CONNECTION_FAILED.
  pool.on('factoryCreateError', () => undefined);
  pool.on('factoryDestroyError', () => undefined);

  const stats = (): PoolStats => ({
    min: o.min,
    max: o.max,
    size: pool.size,
    available: pool.available,
    borrowed: pool.borrowed,
    pending: pool.pending,
    ...counts,
    waits: { ...waits },
  });

  async function acquire(): Promise<Connection> {
    const started = Date.now();
    try {
      const conn = await pool.acquire();
      counts.acquired += 1;
      return conn;
    } catch (err) {
      const name = (err as Error)?.name;
      const waited = Date.now() - started;
      if (name === 'TimeoutError') counts.timeouts += 1;
      // No connection could be made at all: that is libvirtd's fault, not load.
      if (lastCreateError && lastCreateError.at >= started - o.acquireTimeoutMs) {
        throw vmError(
          'LIBVIRT_CONNECTION_FAILED',
          `cannot connect to libvirt at ${o.uri}: ${lastCreateError.message}`,
          { uri: o.uri, waitedMs: waited },
          err,
        );
      }
      if (name === 'TimeoutError' || /max waitingClients/.test(errorMessage(err))) {
        const s = stats();
        throw vmError(
          'RESOURCE_EXHAUSTED',
          `no libvirt connection free after ${waited} ms: all ${s.size} of ${s.max} busy, ${s.pending} requests waiting`,
          { waitedMs: waited, ...s },
          err,
        );
      }
      // Draining: this worker is stopping; the activity's retry finds another worker.
      throw vmError('LIBVIRT_CONNECTION_FAILED', `cannot borrow a libvirt connection: ${errorMessage(err)}`, {}, err);
    } finally {
      const ms = Date.now() - started;
      waits.count += 1;
      waits.totalMs += ms;
      waits.maxMs = Math.max(waits.maxMs, ms);
      o.observeWait?.(ms);
    }
  }

  return {
    async use(fn) {
      const conn = await acquire();
      let broken = false;
      try {
        const result = await fn(conn.hypervisor);
        conn.lastOkAt = Date.now();
        return result;
      } catch (err) {
        const mapped = fromLibvirt(err, 'libvirt call');
        broken = vmErrorCode(mapped) === 'LIBVIRT_CONNECTION_FAILED';
        if (!broken) conn.lastOkAt = Date.now();
        throw err;
      } finally {
        // Handing a dead connection back would fail the next borrower's check anyway; close it now.
        if (broken) await pool.destroy(conn).catch(() => undefined);
        else await pool.release(conn).catch(() => undefined);
      }
    },
    stats,
    async drain() {
      await pool.drain();
      await pool.clear();
    },
  };
}
