import type { Pool } from '../../lib/infra/db';
import type { Logger } from '../../lib/infra/logger';
import type { MachineRef } from '../../lib/vm/contract';
import { describeLost, type LostSnapshot } from '../../lib/vm/snapshots';
import { insertEvents, type MachineEvent } from '../../store/vm/events';
import { markSnapshotsLost, updateMachine, type MachinePatch } from '../../store/vm/machines';
import { dedupeKey } from './attempt';
import type { VmMetrics } from './metrics';

/**
 * The activities that write down what the workflows decided and found, without touching
 * libvirt: the decision is the workflow's, the activity only makes it durable where the
 * API and the UI read it.
 */
export function createMachineRecords(deps: { pool: Pool; log: Logger; metrics: VmMetrics }) {
  const { pool, log, metrics } = deps;

  return {
    /**
     * Marks snapshots libvirt no longer has lost (the workflow found them so), with their
     * event, a warning and the count. Safe twice: a mark keeps the time it was first
     * noticed, the event is keyed, and the count only follows a first write.
     */
    async markSnapshotsLost(ref: MachineRef, names: string[]): Promise<LostSnapshot[]> {
      const marked = new Map((await markSnapshotsLost(pool, ref.machineId, names)).map((l) => [l.name, l.lostAt]));
      // A name the table never had (its row was not written) is lost all the same.
      const now = new Date().toISOString();
      const lost = names.map((name) => ({ name, lostAt: marked.get(name) ?? now }));
      const written = await insertEvents(pool, [
        {
          machineId: ref.machineId,
          type: 'snapshot-lost',
          outcome: 'drift',
          severity: 'high',
          message: `${describeLost(names)}: marked lost, a revert to ${names.length === 1 ? 'it' : 'one'} is refused`,
          details: { snapshots: lost },
          dedupeKey: dedupeKey('ok'),
        },
      ]);
      if (written) {
        metrics.snapshotsLost(names.length);
        log.warn({ machineId: ref.machineId, name: ref.name, snapshots: names }, 'VM snapshots lost');
      }
      return lost;
    },

    /** What the workflow decided (status, desired state, why it failed), and its event. Safe twice: absolute values, keyed event. */
    async recordMachine(machineId: string, patch: MachinePatch, event?: Omit<MachineEvent, 'machineId' | 'dedupeKey'>) {
      await updateMachine(pool, machineId, patch);
      if (event) await insertEvents(pool, [{ ...event, machineId, dedupeKey: dedupeKey('ok') }]);
    },

    /** The reconciler's findings. Safe twice: the workflow keys each event (by run and machine, by domain UUID). */
    async recordReconcile(events: MachineEvent[]): Promise<number> {
      for (const e of events.filter((e) => e.machineId === undefined)) {
        log.warn({ domain: e.domainName, ...e.details }, e.message);
      }
      return insertEvents(pool, events);
    },
  };
}
