import type { VmAdapter } from '../../activities/vm/adapter';
import type { DomainStatus } from '../../activities/vm/domain-status';
import { createVmActivities, type VmActivities, type VmActivityDeps } from '../../activities/vm';
import type { Pool } from '../../lib/infra/db';
import { createLogger } from '../../lib/infra/logger';
import { vmError, type VmErrorCode } from '../../lib/vm/errors';
import { isRunningState, type ObservedState } from '../../lib/vm/states';
import type { MachineEvent } from '../../store/vm/events';

/**
 * For workflow tests: the real VM activities over an in-memory hypervisor (a fake
 * VmAdapter with the same idempotent rules as the real one) and a Postgres stand-in that
 * keeps what the activities write (events, machine fields) for the test to read.
 */

interface FakeDomain {
  uuid: string;
  state: ObservedState;
  reason: string;
  snapshots: Map<string, ObservedState>;
  memoryMiB: number;
  vcpus: number;
  ignoresAcpi: boolean;
}

type Op = keyof VmAdapter;

export function fakeHypervisor() {
  const domains = new Map<string, FakeDomain>();
  /** Every mutating call, in order: `start web-1`. */
  const calls: string[] = [];
  const faults = new Map<Op, { code: VmErrorCode; times: number }>();
  const gates = new Map<Op, Promise<void>>();
  const entered = new Map<Op, number>();

  const get = (name: string): FakeDomain => {
    const d = domains.get(name);
    if (!d) throw vmError('MACHINE_NOT_FOUND', `domain not found: no domain with matching name '${name}'`);
    return d;
  };

  async function step(op: Op, name: string): Promise<void> {
    entered.set(op, (entered.get(op) ?? 0) + 1);
    await gates.get(op);
    const fault = faults.get(op);
    if (fault && fault.times > 0) {
      fault.times--;
      throw vmError(fault.code, `${op} on "${name}" failed: injected ${fault.code}`);
    }
    calls.push(`${op} ${name}`);
  }

  const adapter: VmAdapter = {
    async define(xml) {
      const name = /<name>([^<]+)<\/name>/.exec(xml)![1];
      const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)![1];
      await step('define', name);
      const d = domains.get(name);
      if (d && d.uuid !== uuid)
        throw vmError('RESOURCE_CONFLICT', `domain '${name}' already exists with uuid ${d.uuid}`);
      if (!d) {
        domains.set(name, {
          uuid,
          state: 'shutoff',
          reason: 'unknown',
          snapshots: new Map(),
          memoryMiB: Number(/<currentMemory unit="MiB">(\d+)/.exec(xml)?.[1] ?? 0),
          vcpus: Number(/current="(\d+)"/.exec(xml)?.[1] ?? 1),
          ignoresAcpi: false,
        });
      }
      return { name, uuid };
    },
    async start(name) {
      await step('start', name);
      const d = get(name);
      if (!isRunningState(d.state) && d.state !== 'paused') Object.assign(d, { state: 'running', reason: 'booted' });
      return d.state;
    },
    async shutdown(name) {
      await step('shutdown', name);
      const d = get(name);
      if (d.state === 'shutoff') return { forced: false };
      Object.assign(d, { state: 'shutoff', reason: d.ignoresAcpi ? 'destroyed' : 'shutdown' });
      return { forced: d.ignoresAcpi };
    },
    async destroy(name) {
      await step('destroy', name);
      Object.assign(get(name), { state: 'shutoff', reason: 'destroyed' });
    },
    async reboot(name) {
      await step('reboot', name);
      if (!isRunningState(get(name).state)) throw vmError('RESOURCE_CONFLICT', `reboot of "${name}" needs it running`);
    },
    async suspend(name) {
      await step('suspend', name);
      Object.assign(get(name), { state: 'paused', reason: 'user' });
    },
    async resume(name) {
      await step('resume', name);
      Object.assign(get(name), { state: 'running', reason: 'unpaused' });
    },
    async createSnapshot(name, snapshot) {
      await step('createSnapshot', name);
      const d = get(name);
      if (!d.snapshots.has(snapshot)) d.snapshots.set(snapshot, d.state);
    },
    async revertSnapshot(name, snapshot) {
      await step('revertSnapshot', name);
      const d = get(name);
      const at = d.snapshots.get(snapshot);
      if (!at) throw vmError('MACHINE_NOT_FOUND', `snapshot not found: ${snapshot}`);
      Object.assign(d, { state: at, reason: 'from snapshot' });
      return at;
    },
    async deleteSnapshot(name, snapshot) {
      await step('deleteSnapshot', name);
      get(name).snapshots.delete(snapshot);
    },
    async listSnapshots(name) {
      return [...get(name).snapshots.keys()];
    },
    async setMemory(name, memoryMiB) {
      await step('setMemory', name);
      get(name).memoryMiB = memoryMiB;
    },
    async setVcpus(name, vcpus) {
      await step('setVcpus', name);
      get(name).vcpus = vcpus;
    },
    async undefine(name) {
      await step('undefine', name);
      const d = domains.get(name);
      if (d && d.state !== 'shutoff') throw vmError('RESOURCE_CONFLICT', `undefine of "${name}" needs it shut off`);
      domains.delete(name);
    },
    async info(name) {
      return describe(name, get(name));
    },
    async stateReason(name) {
      const d = get(name);
      return { state: d.state, reason: d.reason };
    },
    async state(name) {
      return domains.get(name)?.state ?? 'absent';
    },
    async list() {
      return [...domains].map(([name, d]) => describe(name, d));
    },
  };

  const describe = (name: string, d: FakeDomain): DomainStatus => ({
    name,
    uuid: d.uuid,
    state: d.state,
    memoryMiB: d.memoryMiB,
    maxMemoryMiB: d.memoryMiB,
    vcpus: d.vcpus,
    cpuTimeNs: 0,
  });

  return {
    adapter,
    domains,
    calls,
    /** The next `times` calls of `op` fail with `code`. */
    fail(op: Op, code: VmErrorCode, times = 1) {
      faults.set(op, { code, times });
    },
    /** Holds every call of `op` until the returned function is called. */
    hold(op: Op): () => void {
      let release!: () => void;
      gates.set(
        op,
        new Promise<void>((r) => {
          release = r;
        }),
      );
      return () => {
        gates.delete(op);
        release();
      };
    },
    /** How many calls of `op` have started (held ones included). */
    entered: (op: Op) => entered.get(op) ?? 0,
    /** Changes a domain behind everyone's back, as `virsh destroy` would. */
    set(name: string, state: ObservedState, reason: string) {
      Object.assign(get(name), { state, reason });
    },
  };
}

export type FakeHypervisor = ReturnType<typeof fakeHypervisor>;

export interface MachineRow {
  id: string;
  name: string;
  status: string;
  run_strategy: string;
  desired_state: string;
}

/**
 * A stand-in for the pg Pool with just what the VM activities' store calls need: it
 * keeps the events and the machine fields they write, and answers the reconciler's
 * list of live machines from `machines`.
 */
export function fakeMachineStore(machines: MachineRow[] = []) {
  const events: MachineEvent[] = [];
  const fields = new Map<string, Record<string, unknown>>();
  const keys = new Set<string>();
  /** machine id → snapshot name → when it was marked lost (null while libvirt has it). */
  const snapshots = new Map<string, Map<string, Date | null>>();
  const snapshotsOf = (id: unknown) =>
    snapshots.get(String(id)) ?? snapshots.set(String(id), new Map()).get(String(id))!;
  const pool = {
    async query(sql: string, params: unknown[] = []) {
      if (sql.includes('INSERT INTO machine_snapshots')) {
        const held = snapshotsOf(params[0]);
        if (!held.has(params[1] as string) || held.get(params[1] as string)) held.set(params[1] as string, null);
        return { rows: [], rowCount: 1 };
      }
      if (sql.includes('FROM machine_snapshots WHERE lost_at IS NULL')) {
        const ids = (params[0] as string[]).map(String);
        return {
          rows: ids.flatMap((id) =>
            [...snapshotsOf(id)].filter(([, lost]) => !lost).map(([name]) => ({ machine_id: id, name })),
          ),
        };
      }
      if (sql.startsWith('UPDATE machine_snapshots SET lost_at')) {
        const held = snapshotsOf(params[0]);
        const rows = (params[1] as string[])
          .filter((name) => held.has(name))
          .map((name) => {
            held.set(name, held.get(name) ?? new Date());
            return { name, lost_at: held.get(name) };
          });
        return { rows, rowCount: rows.length };
      }
      if (sql.includes('INSERT INTO machine_events')) {
        const [ids, domains, types, outcomes, codes, severities, messages, details, dedupe] = params as unknown[][];
        let n = 0;
        types.forEach((type, i) => {
          const key = dedupe[i] as string | null;
          if (key && keys.has(key)) return;
          if (key) keys.add(key);
          n++;
          events.push({
            machineId: (ids[i] as string | null) ?? undefined,
            domainName: (domains[i] as string | null) ?? undefined,
            type: type as string,
            outcome: outcomes[i] as MachineEvent['outcome'],
            code: (codes[i] as MachineEvent['code']) ?? undefined,
            severity: (severities[i] as MachineEvent['severity']) ?? undefined,
            message: messages[i] as string,
            details: JSON.parse(details[i] as string),
          });
        });
        return { rows: [], rowCount: n };
      }
      if (sql.startsWith('UPDATE machines')) {
        const row = fields.get(String(params[0])) ?? {};
        for (const m of sql.matchAll(/(\w+) = \$(\d+)/g)) row[m[1]] = params[Number(m[2]) - 1];
        fields.set(String(params[0]), row);
        return { rows: [], rowCount: 1 };
      }
      if (sql.includes('FROM machines WHERE deleted_at IS NULL')) {
        return {
          rows: machines
            .filter((m) => fields.get(m.id)?.status !== 'deleted')
            .map((m) => ({ ...m, ...fields.get(m.id) })),
        };
      }
      return { rows: [], rowCount: 0 };
    },
  };
  return { pool: pool as unknown as Pool, events, fields, machines, snapshots };
}

export function fakeVmActivities(
  hv: FakeHypervisor,
  store = fakeMachineStore(),
  extra: Pick<VmActivityDeps, 'metrics'> = {},
): VmActivities {
  return createVmActivities({
    config: {
      libvirt: {
        uri: 'test:///fake',
        domainType: 'test',
        pool: { min: 0, max: 1, acquireTimeoutMs: 1000, idleTimeoutMs: 1000 },
        virshTimeoutMs: 1000,
      },
      vm: { shutdownTimeoutMs: 5_000, reconcileEvery: '1m' },
    },
    pool: store.pool,
    log: createLogger({ log: { level: 'silent', pretty: false } }, 'vm-test'),
    vm: { adapter: hv.adapter },
    ...extra,
  });
}
