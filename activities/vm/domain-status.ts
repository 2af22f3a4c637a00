import { vmError } from '../../lib/vm/errors';
import { stateFromLibvirt, type ObservedState, type StateReason } from '../../lib/vm/states';
import type { Domain, Hypervisor } from './libvirt';

/** What the adapter reports of a domain: the binding's info, and virsh's state with its reason. */

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

export async function describeDomain(conn: Hypervisor, domain: Domain): Promise<DomainStatus> {
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
