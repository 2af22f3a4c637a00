import type { AppError } from '../../lib/errors';
import { vmError, vmErrorCode } from '../../lib/vm/errors';
import { isRunningState, stateFromLibvirt, type ObservedState, type StateReason } from '../../lib/vm/states';
import type { Domain, Hypervisor } from './libvirt';
import { fromLibvirt } from './libvirt-errors';
import type { LibvirtPool } from './pool';
import type { Virsh } from './virsh';

/**
 * The VM process's one door to libvirt: typed, promise-based operations on domains by
 * name, over pooled connections, with what the binding lacks done by virsh.
 *
 * Every operation is safe to run twice, because Temporal retries activities: the ones
 * that move a domain to a state return at once when it is there already (a start whose
 * reply was lost must not fail its retry on "already running"), define replaces a
 * definition with the same name and UUID, and removals of what is gone succeed.
 */

export interface DomainRef {
  name: string;
  uuid: string;
}

export interface DomainStatus extends DomainRef {
  state: ObservedState;
  memoryMiB: number;
  maxMemoryMiB: number;
  vcpus: number;
  cpuTimeNs: number;
}

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

/**
 * Domains with a call in flight. The binding's native calls hold a bare pointer to the
 * domain; if its JavaScript object were collected meanwhile, libvirt would be handed a
 * freed pointer ("invalid domain pointer", or a crash). A domain stays in this set from
 * its lookup until the last call on it settles.
 */
const inFlight = new Map<Domain, number>();

function pin(domain: Domain): void {
  inFlight.set(domain, (inFlight.get(domain) ?? 0) + 1);
}

function unpin(domain: Domain): void {
  const n = (inFlight.get(domain) ?? 1) - 1;
  if (n <= 0) inFlight.delete(domain);
  else inFlight.set(domain, n);
}

/** How many domains are pinned now: zero whenever no call is in flight. */
export const pinnedDomains = (): number => inFlight.size;

const kib = (mib: number) => String(mib * 1024);

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
        pin(domain);
        try {
          return await fn(conn, domain);
        } finally {
          unpin(domain);
        }
      })
      .catch((err: unknown) => {
        throw fromLibvirt(err, operation, name);
      });
  }

  async function status(operation: string, name: string): Promise<DomainStatus> {
    return onDomain(operation, name, async (conn, domain) => describe(conn, domain));
  }

  async function state(name: string): Promise<ObservedState> {
    try {
      return (await status('state', name)).state;
    } catch (err) {
      if (vmErrorCode(err) === 'MACHINE_NOT_FOUND') return 'absent';
      throw err;
    }
  }

  const adapter: VmAdapter = {
    async define(xml) {
      return pool
        .use(async (conn) => {
          const domain = await conn.domainDefineXML(xml);
          pin(domain);
          try {
            const [name, uuid] = [await domain.getName(), await domain.getUUIDString()];
            return { name, uuid };
          } finally {
            unpin(domain);
          }
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
      const asked = await onDomain('shutdown', name, async (conn, domain) => {
        const now = stateFromLibvirt((await conn.domainGetInfo(domain)).state);
        if (now === 'shutoff' || now === 'crashed') return false;
        await conn.domainShutdown(domain);
        return true;
      });
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
      await onDomain('destroy', name, async (conn, domain) => {
        const now = stateFromLibvirt((await conn.domainGetInfo(domain)).state);
        if (now === 'shutoff') return;
        await conn.domainDestroy(domain);
      });
    },

    async reboot(name) {
      const now = await state(name);
      if (!isRunningState(now)) {
        throw vmError('RESOURCE_CONFLICT', `reboot of ${JSON.stringify(name)} needs a running domain; it is ${now}`);
      }
      await virsh.run('reboot', name, ['reboot', '--domain', name]);
    },

    async suspend(name) {
      await onDomain('suspend', name, async (conn, domain) => {
        const now = stateFromLibvirt((await conn.domainGetInfo(domain)).state);
        if (now === 'paused') return;
        await conn.domainSuspend(domain);
      });
    },

    async resume(name) {
      await onDomain('resume', name, async (conn, domain) => {
        const now = stateFromLibvirt((await conn.domainGetInfo(domain)).state);
        if (isRunningState(now)) return;
        // Domain.resume wakes a PM-suspended guest, and unpauses a paused one.
        await domain.resume();
      });
    },

    async createSnapshot(name, snapshot, description) {
      if ((await adapter.listSnapshots(name)).includes(snapshot)) return;
      const args = ['snapshot-create-as', '--domain', name, '--name', snapshot];
      if (description) args.push('--description', description);
      await virsh.run('snapshot', name, args);
    },

    async revertSnapshot(name, snapshot) {
      await virsh.run('revert', name, ['snapshot-revert', '--domain', name, '--snapshotname', snapshot]);
      return state(name);
    },

    async deleteSnapshot(name, snapshot) {
      if (!(await adapter.listSnapshots(name)).includes(snapshot)) return;
      await virsh.run('delete snapshot', name, ['snapshot-delete', '--domain', name, '--snapshotname', snapshot]);
    },

    async listSnapshots(name) {
      const out = await virsh.run('list snapshots', name, ['snapshot-list', '--domain', name, '--name']);
      return out
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
    },

    async setMemory(name, memoryMiB) {
      const s = await status('resize', name);
      if (s.state === 'shutoff') {
        // At rest the definition changes: the maximum grows first, so any size up to the template's limit fits.
        if (memoryMiB > s.maxMemoryMiB)
          await virsh.run('resize', name, ['setmaxmem', name, kib(memoryMiB), '--config']);
        await virsh.run('resize', name, ['setmem', name, kib(memoryMiB), '--config']);
        return;
      }
      if (memoryMiB > s.maxMemoryMiB) {
        throw vmError(
          'RESOURCE_CONFLICT',
          `${JSON.stringify(name)} can grow to ${s.maxMemoryMiB} MiB while running; shut it down to give it ${memoryMiB} MiB`,
        );
      }
      // Live and definition apart: some drivers (the test driver) refuse both flags in one call.
      await virsh.run('resize', name, ['setmem', name, kib(memoryMiB), '--live']);
      await virsh.run('resize', name, ['setmem', name, kib(memoryMiB), '--config']);
    },

    async setVcpus(name, vcpus) {
      const s = await status('resize', name);
      if (s.state === 'shutoff') {
        const max = await maxVcpus(name);
        if (vcpus > max) await virsh.run('resize', name, ['setvcpus', name, String(vcpus), '--config', '--maximum']);
        await virsh.run('resize', name, ['setvcpus', name, String(vcpus), '--config']);
        return;
      }
      await virsh.run('resize', name, ['setvcpus', name, String(vcpus), '--live']);
      await virsh.run('resize', name, ['setvcpus', name, String(vcpus), '--config']);
    },

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
          domains.forEach(pin);
          try {
            const all: DomainStatus[] = [];
            // One at a time on this connection: libvirt serialises a connection's calls anyway.
            for (const d of domains) all.push(await describe(conn, d));
            return all;
          } finally {
            domains.forEach(unpin);
          }
        })
        .catch((err: unknown) => {
          throw fromLibvirt(err, 'list');
        });
    },
  };

  async function maxVcpus(name: string): Promise<number> {
    const out = await virsh.run('resize', name, ['vcpucount', '--domain', name, '--maximum', '--config']);
    return Number(out.trim());
  }

  return adapter;
}

async function describe(conn: Hypervisor, domain: Domain): Promise<DomainStatus> {
  const info = await conn.domainGetInfo(domain);
  const name = await conn.domainGetName(domain);
  const uuid = await conn.domainGetUUIDString(domain);
  return {
    name,
    uuid,
    state: stateFromLibvirt(info.state),
    memoryMiB: Math.round(info.memory / 1024),
    maxMemoryMiB: Math.round(info.maxMem / 1024),
    vcpus: info.nrVirtCpu,
    cpuTimeNs: info.cpuTime,
  };
}

// virsh's words for each state, as `domstate --reason` prints them: "shut off (destroyed)".
const virshStates: Record<string, ObservedState> = {
  running: 'running',
  idle: 'blocked',
  blocked: 'blocked',
  paused: 'paused',
  'in shutdown': 'shutdown',
  'shut off': 'shutoff',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
  'no state': 'nostate',
};

export function parseDomstate(out: string): { state: ObservedState; reason: StateReason } {
  const m = /^\s*([a-z ]+?)\s*(?:\(([^)]*)\))?\s*$/m.exec(out.trim());
  const state = m ? virshStates[m[1]] : undefined;
  if (!m || !state)
    throw vmError('MACHINE_OPERATION_FAILED', `virsh domstate printed what we cannot read: ${JSON.stringify(out)}`);
  return { state, reason: m[2] ?? 'unknown' };
}
