import type { Pool } from '../../lib/infra/db';
import { vmErrorCode } from '../../lib/vm/errors';
import type { ObservedState, StateReason } from '../../lib/vm/states';
import type { DesiredState, MachineRef } from '../../lib/vm/contract';
import type { RunStrategy } from '../../lib/vm/validate';
import { liveMachines, liveSnapshots, updateMachine } from '../../store/vm/machines';
import type { VmAdapter } from './adapter';
import { heartbeating } from './attempt';

/**
 * The activities that look at what libvirt reports, for the machine's workflow and the
 * reconciler: they change no domain and write only what they saw, as absolute values, so
 * running one twice only looks twice.
 */

export interface SurveyedMachine extends MachineRef {
  runStrategy: RunStrategy;
  desired: DesiredState;
  observed: ObservedState;
  /** What the machine's record last said libvirt reported. */
  recorded?: ObservedState;
  /** A machine with snapshots not marked lost: those, and the ones libvirt lists for its domain. */
  snapshots?: { recorded: string[]; inLibvirt: string[] };
}

export interface Survey {
  machines: SurveyedMachine[];
  /** Domains in libvirt that no live machine row names: reported, never touched. */
  orphans: { name: string; uuid: string; state: ObservedState }[];
}

export function createMachineObservations(deps: { pool: Pool; adapter: VmAdapter }) {
  const { pool, adapter } = deps;

  /** The domain's snapshots as libvirt lists them; a domain that is gone has none. */
  async function snapshotsOf(name: string): Promise<string[]> {
    try {
      return await adapter.listSnapshots(name);
    } catch (err) {
      if (vmErrorCode(err) === 'MACHINE_NOT_FOUND') return [];
      throw err;
    }
  }

  return {
    /** The domain's state and libvirt's reason for it; reads only. */
    async observeMachine(ref: MachineRef): Promise<{ observed: ObservedState; reason?: StateReason }> {
      return heartbeating(async () => {
        try {
          const { state, reason } = await adapter.stateReason(ref.name);
          await updateMachine(pool, ref.machineId, { observedState: state, stateReason: reason });
          return { observed: state, reason };
        } catch (err) {
          if (vmErrorCode(err) !== 'MACHINE_NOT_FOUND') throw err;
          await updateMachine(pool, ref.machineId, { observedState: 'absent', stateReason: null });
          return { observed: 'absent' };
        }
      });
    },

    /** The snapshots libvirt has of the machine's domain; none when the domain is gone. Reads only. */
    async listMachineSnapshots(ref: MachineRef): Promise<string[]> {
      return heartbeating(() => snapshotsOf(ref.name));
    },

    /** Every live machine beside what libvirt reports; reads only. */
    async surveyMachines(): Promise<Survey> {
      return heartbeating(async () => {
        const [machines, domains] = await Promise.all([liveMachines(pool), adapter.list()]);
        const byName = new Map(domains.map((d) => [d.name, d]));
        const names = new Set(machines.map((m) => m.name));
        // Machines being provisioned or deleted belong to their workflow's step in progress.
        const ready = machines.filter((m) => m.status === 'ready');
        // Each snapshot's row is written after libvirt made it, and the rows are read before
        // libvirt's lists: a snapshot taken meanwhile is never taken for lost.
        const recorded = await liveSnapshots(
          pool,
          ready.map((m) => m.id),
        );
        const surveyed: SurveyedMachine[] = [];
        // One virsh call per machine with snapshots, one at a time: a pass must not crowd libvirtd.
        for (const m of ready) {
          const held = recorded.get(m.id);
          surveyed.push({
            machineId: m.id,
            name: m.name,
            runStrategy: m.runStrategy,
            desired: m.desiredState,
            observed: byName.get(m.name)?.state ?? 'absent',
            recorded: m.observedState,
            ...(held
              ? { snapshots: { recorded: held, inLibvirt: byName.has(m.name) ? await snapshotsOf(m.name) : [] } }
              : {}),
          });
        }
        return {
          machines: surveyed,
          orphans: domains
            .filter((d) => !names.has(d.name))
            .map((d) => ({ name: d.name, uuid: d.uuid, state: d.state })),
        };
      });
    },
  };
}
