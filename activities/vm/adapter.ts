import type { AppError } from '../../lib/errors';
import { vmError, vmErrorCode } from '../../lib/vm/errors';
import { isRunningState, stateFromLibvirt, type ObservedState, type StateReason } from '../../lib/vm/states';
import { describeDomain, parseDomstate, type DomainRef, type DomainStatus } from './domain-status';
import type { Domain, Hypervisor } from './libvirt';
import { fromLibvirt } from './libvirt-errors';
import { withPinned } from './pinning';
import type { LibvirtPool } from './pool';
import { createResizeOperations } from './resize';
import { createSnapshotOperations } from './snapshots';
import type { Virsh } from './virsh';

/**
 * The VM process's one door to libvirt: typed, promise-based operations on domains by
 * name, over pooled connections, with what the binding lacks done by virsh (snapshots,
 * resizing, reboot, the state's reason).
 *
 * Every operation is safe to run twice, because Temporal retries activities: the ones
 * that move a domain to a state return at once when it is there already (a start whose
 * reply was lost must not fail its retry on "already running"), define replaces a
 * definition with the same name and UUID, and removals of what is gone succeed.
 */

export interface ShutdownOptions {
  /** How long the guest gets to power off after the ACPI request before it is destroyed. */
  timeoutMs: number;
  pollMs?: number;
  /** Called on every poll while waiting, for an activity's heartbeat. */
  onWait?: () => void;
}

export interface VmAdapter {
  define(xml: string): Promise<DomainRef>;
  start(name: string): Promise<ObservedState>;
  shutdown(name: string, opts: ShutdownOptions): Promise<{ forced: boolean }>;
  destroy(name: string): Promise<void>;
  reboot(name: string): Promise<void>;
  suspend(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  createSnapshot(name: string, snapshot: string, description?: string): Promise<void>;
  revertSnapshot(name: string, snapshot: string): Promise<ObservedState>;
  deleteSnapshot(name: string, snapshot: string): Promise<void>;
  listSnapshots(name: string): Promise<string[]>;
  setMemory(name: string, memoryMiB: number): Promise<void>;
  setVcpus(name: string, vcpus: number): Promise<void>;
  undefine(name: string): Promise<void>;
  info(name: string): Promise<DomainStatus>;
  /** The state and libvirt's reason for it ("shutoff", "destroyed"), which the reconciler needs. */
  stateReason(name: string): Promise<{ state: ObservedState; reason: StateReason }>;
  /** `absent` when no domain has the name. */
  state(name: string): Promise<ObservedState>;
  list(): Promise<DomainStatus[]>;
}

export interface AdapterDeps {
  pool: LibvirtPool;
  virsh: Virsh;
  sleep?: (ms: number) => Promise<void>;
}

const isShutoff = (state: ObservedState) => state === 'shutoff';
const isStopped = (state: ObservedState) => state === 'shutoff' || state === 'crashed';
const isPaused = (state: ObservedState) => state === 'paused';

export function createVmAdapter(deps: AdapterDeps): VmAdapter {
  const { pool, virsh } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  /** Runs `fn` on the named domain, pinned, on a pooled connection; libvirt errors become codes. */
  function onDomain<T>(
    operation: string,
    name: string,
    fn: (conn: Hypervisor, domain: Domain) => Promise<T>,
  ): Promise<T> {
    return pool
      .use(async (conn) => {
        const domain = await conn.domainLookupByName(name);
        return withPinned([domain], () => fn(conn, domain));
      })
      .catch((err: unknown) => {
        throw fromLibvirt(err, operation, name);
      });
  }

  /** Runs `act` on the domain unless it is in a state `done` accepts already; says whether it acted. */
  function unlessDone(
    operation: string,
    name: string,
    done: (state: ObservedState) => boolean,
    act: (conn: Hypervisor, domain: Domain) => Promise<unknown>,
  ): Promise<boolean> {
    return onDomain(operation, name, async (conn, domain) => {
      if (done(stateFromLibvirt((await conn.domainGetInfo(domain)).state))) return false;
      await act(conn, domain);
      return true;
    });
  }

  async function status(operation: string, name: string): Promise<DomainStatus> {
    return onDomain(operation, name, async (conn, domain) => describeDomain(conn, domain));
  }

  async function state(name: string): Promise<ObservedState> {
    try {
      return (await status('state', name)).state;
    } catch (err) {
      if (vmErrorCode(err) === 'MACHINE_NOT_FOUND') return 'absent';
      throw err;
    }
  }

  const snapshots = createSnapshotOperations(virsh, state);

  const adapter: VmAdapter = {
    async define(xml) {
      return pool
        .use(async (conn) => {
          const domain = await conn.domainDefineXML(xml);
          return withPinned([domain], async () => ({
            name: await domain.getName(),
            uuid: await domain.getUUIDString(),
          }));
        })
        .catch((err: unknown) => {
          throw fromLibvirt(err, 'define');
        });
    },

    async start(name) {
      return onDomain('start', name, async (conn, domain) => {
        const before = stateFromLibvirt((await conn.domainGetInfo(domain)).state);
        if (isRunningState(before) || before === 'paused') return before;
        await conn.domainCreate(domain);
        return stateFromLibvirt((await conn.domainGetInfo(domain)).state);
      });
    },

    async shutdown(name, opts) {
      const pollMs = opts.pollMs ?? 250;
      const asked = await unlessDone('shutdown', name, isStopped, (conn, d) => conn.domainShutdown(d));
      if (!asked) return { forced: false };
      // The connection goes back to the pool while the guest powers off: a wait must not hold it.
      const deadline = Date.now() + opts.timeoutMs;
      for (;;) {
        const now = await state(name);
        if (now === 'shutoff' || now === 'absent') return { forced: false };
        if (Date.now() >= deadline) break;
        opts.onWait?.();
        await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
      }
      // The guest ignored ACPI (no agent, hung, or refusing): pull the plug as promised.
      await adapter.destroy(name);
      return { forced: true };
    },

    async destroy(name) {
      await unlessDone('destroy', name, isShutoff, (conn, d) => conn.domainDestroy(d));
    },

    async reboot(name) {
      const now = await state(name);
      if (!isRunningState(now)) {
        throw vmError('RESOURCE_CONFLICT', `reboot of ${JSON.stringify(name)} needs a running domain; it is ${now}`);
      }
      await virsh.run('reboot', name, ['reboot', '--domain', name]);
    },

    async suspend(name) {
      await unlessDone('suspend', name, isPaused, (conn, d) => conn.domainSuspend(d));
    },

    async resume(name) {
      // Domain.resume wakes a PM-suspended guest, and unpauses a paused one.
      await unlessDone('resume', name, isRunningState, (_conn, domain) => domain.resume());
    },

    ...snapshots,
    ...createResizeOperations(virsh, status),

    async undefine(name) {
      try {
        await onDomain('undefine', name, async (conn, domain) => {
          const now = stateFromLibvirt((await conn.domainGetInfo(domain)).state);
          if (now !== 'shutoff') {
            // Undefining an active domain would leave it running as a transient one, out of our sight.
            throw vmError('RESOURCE_CONFLICT', `undefine of ${JSON.stringify(name)} needs it shut off; it is ${now}`);
          }
          await conn.domainUndefine(domain);
        });
      } catch (err) {
        if (vmErrorCode(err) === 'MACHINE_NOT_FOUND') return;
        // The binding's undefine takes no flags; a domain with snapshots needs their metadata dropped with it.
        if (/snapshot/i.test(String((err as AppError).details?.libvirt ?? ''))) {
          await virsh.run('undefine', name, ['undefine', '--domain', name, '--snapshots-metadata']);
          return;
        }
        throw err;
      }
    },

    info: (name) => status('info', name),

    async stateReason(name) {
      const out = await virsh.run('state', name, ['domstate', '--domain', name, '--reason']);
      return parseDomstate(out);
    },

    state,

    async list() {
      return pool
        .use(async (conn) => {
          const domains = await conn.connectListAllDomains();
          return withPinned(domains, async () => {
            const all: DomainStatus[] = [];
            // One at a time on this connection: libvirt serialises a connection's calls anyway.
            for (const d of domains) all.push(await describeDomain(conn, d));
            return all;
          });
        })
        .catch((err: unknown) => {
          throw fromLibvirt(err, 'list');
        });
    },
  };

  return adapter;
}
