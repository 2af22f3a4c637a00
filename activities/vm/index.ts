import { Context, log as activityLog } from '@temporalio/activity';
import type { Config } from '../../lib/infra/config';
import type { Pool } from '../../lib/infra/db';
import type { Logger } from '../../lib/infra/logger';
import { errorMessage } from '../../lib/errors';
import { vmErrorCode, vmErrorKinds } from '../../lib/vm/errors';
import type { ObservedState, StateReason } from '../../lib/vm/states';
import type { DesiredState, MachineRef, OperationOutcome } from '../../lib/vm/contract';
import type { MachineSpec, RunStrategy } from '../../lib/vm/validate';
import { insertEvents, type MachineEvent } from '../../store/vm/events';
import { describeLost, type LostSnapshot } from '../../lib/vm/snapshots';
import {
  addSnapshot,
  liveMachines,
  liveSnapshots,
  markSnapshotsLost,
  updateMachine,
  type MachinePatch,
} from '../../store/vm/machines';
import { buildDomainXml } from './domain-xml';
import type { VmResources } from './resources';
import { runtimeVmMetrics, type VmMetrics } from './metrics';

/**
 * The VM process's activities: each one libvirt operation on one machine, its outcome
 * written to the machine's row and event log. Every one is safe to run twice, which is
 * what Temporal's retries need: the adapter's operations return at once when the domain
 * is already where they lead (see activities/vm/adapter.ts), the row's fields are set to
 * absolute values, and each event carries a key (workflow run, activity, attempt) that
 * a retried write cannot insert twice.
 *
 * Every activity heartbeats while it waits on libvirt, so a worker that dies mid-call is
 * noticed within the heartbeat timeout and the call retried elsewhere; a shutdown's wait
 * for the guest stops when the activity is cancelled (worker shutdown, workflow cancelled).
 */

export interface VmActivityDeps {
  config: Pick<Config, 'libvirt' | 'vm'>;
  /** Postgres, for the machines' rows and events. */
  pool: Pool;
  log: Logger;
  vm: Pick<VmResources, 'adapter'>;
  metrics?: VmMetrics;
}

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

/** Calls `fn` while heartbeating once a second. */
async function heartbeating<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 1000);
  try {
    return await fn(ctx);
  } finally {
    clearInterval(beat);
  }
}

/** The key that makes an event written twice by the same activity attempt (or its retry, for success) one row. */
function dedupeKey(outcome: 'ok' | 'error'): string {
  const { workflowExecution, activityId, attempt } = Context.current().info;
  const base = `${workflowExecution?.workflowId}/${workflowExecution?.runId}/${activityId}`;
  return outcome === 'ok' ? `${base}/ok` : `${base}/error/${attempt}`;
}

export function createVmActivities(deps: VmActivityDeps) {
  const { pool, log, metrics = runtimeVmMetrics } = deps;
  const adapter = deps.vm.adapter;

  /** Runs one libvirt operation; records its outcome or its error (code and severity) on the machine. */
  async function operation(
    ref: MachineRef,
    type: string,
    run: (ctx: Context) => Promise<Partial<OperationOutcome> | void>,
    details: Record<string, unknown> = {},
  ): Promise<OperationOutcome> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const outcome = await heartbeating(async (ctx) => {
        const done = (await run(ctx)) ?? {};
        return { ...done, observed: done.observed ?? (await adapter.state(ref.name)) };
      });
      await updateMachine(pool, ref.machineId, { observedState: outcome.observed, lastError: null });
      const forced = outcome.forced ? ' (the guest ignored ACPI: destroyed after the timeout)' : '';
      await insertEvents(pool, [
        {
          machineId: ref.machineId,
          type,
          outcome: 'ok',
          message: `${type}: ${outcome.observed}${forced}`,
          details: { ...details, ...outcome },
          dedupeKey: dedupeKey('ok'),
        },
      ]);
      metrics.operation(type, 'ok', seconds());
      activityLog.info('VM operation done', { machineId: ref.machineId, operation: type, observed: outcome.observed });
      return outcome;
    } catch (err) {
      const code = vmErrorCode(err) ?? 'MACHINE_OPERATION_FAILED';
      const message = errorMessage(err);
      metrics.operation(type, 'error', seconds(), code);
      log.warn(
        { machineId: ref.machineId, name: ref.name, operation: type, code, err: message },
        'VM operation failed',
      );
      // The error is the one to report; a database that is down as well must not hide it.
      await insertEvents(pool, [
        {
          machineId: ref.machineId,
          type,
          outcome: 'error',
          code,
          severity: vmErrorKinds[code].severity,
          message,
          details: { ...details, attempt: Context.current().info.attempt },
          dedupeKey: dedupeKey('error'),
        },
      ]).catch((dbErr: unknown) => log.error({ err: errorMessage(dbErr) }, 'VM error not recorded'));
      throw err;
    }
  }

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
    /** Safe twice: the same name and UUID define the same domain again, which libvirt takes as an update. */
    async defineMachine(ref: MachineRef, input: { uuid: string; spec: MachineSpec }): Promise<OperationOutcome> {
      const { spec, uuid } = input;
      const xml = buildDomainXml({
        name: spec.name,
        uuid,
        machineId: spec.machineId,
        type: deps.config.libvirt.domainType,
        template: spec.template,
        description: spec.description,
        metadata: spec.metadata,
      });
      return operation(ref, 'define', async () => void (await adapter.define(xml)), { uuid });
    },

    /** Safe twice: a running domain is left running. */
    startMachine: (ref: MachineRef) =>
      operation(ref, 'start', async () => ({ observed: await adapter.start(ref.name) })),

    /**
     * Safe twice: a shut-off domain returns at once; a second ACPI request to a guest already
     * powering off changes nothing. Stops waiting when cancelled; the retry waits afresh.
     */
    shutdownMachine: (ref: MachineRef, args: { timeoutSeconds?: number }) =>
      operation(
        ref,
        'shutdown',
        async (ctx) => {
          const timeoutMs = (args.timeoutSeconds ?? 0) * 1000 || deps.config.vm.shutdownTimeoutMs;
          const { forced } = await adapter.shutdown(ref.name, {
            timeoutMs,
            onWait: () => {
              ctx.heartbeat();
              if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
            },
          });
          return { forced };
        },
        args,
      ),

    /** Safe twice: a shut-off domain is left as it is. */
    destroyMachine: (ref: MachineRef) => operation(ref, 'destroy', () => adapter.destroy(ref.name)),

    /** Not idempotent in libvirt (each call reboots); a retry after a lost reply reboots once more, which a reboot tolerates. */
    rebootMachine: (ref: MachineRef) => operation(ref, 'reboot', () => adapter.reboot(ref.name)),

    /** Safe twice: a paused domain stays paused. */
    suspendMachine: (ref: MachineRef) => operation(ref, 'suspend', () => adapter.suspend(ref.name)),

    /** Safe twice: a running domain is left running. */
    resumeMachine: (ref: MachineRef) => operation(ref, 'resume', () => adapter.resume(ref.name)),

    /** Safe twice: a snapshot of that name already there is kept, and its row is written once. */
    snapshotMachine: (ref: MachineRef, args: { name: string; description?: string }) =>
      operation(
        ref,
        'snapshot',
        async () => {
          await adapter.createSnapshot(ref.name, args.name, args.description);
          await addSnapshot(pool, ref.machineId, args.name, args.description);
        },
        { snapshot: args.name },
      ),

    /** Safe twice: reverting to the same snapshot again lands in the same state. */
    revertMachine: (ref: MachineRef, args: { snapshot: string }) =>
      operation(ref, 'revert', async () => ({ observed: await adapter.revertSnapshot(ref.name, args.snapshot) }), args),

    /** Safe twice: sizes are set to absolute values. */
    resizeMachine: (ref: MachineRef, args: { memoryMiB?: number; vcpus?: number }) =>
      operation(
        ref,
        'resize',
        async () => {
          if (args.memoryMiB !== undefined) await adapter.setMemory(ref.name, args.memoryMiB);
          if (args.vcpus !== undefined) await adapter.setVcpus(ref.name, args.vcpus);
        },
        args,
      ),

    /**
     * Destroys the domain if it runs and undefines it (with its snapshots' metadata): the
     * compensation of a failed provision and the end of a delete. Safe twice: a domain
     * that is gone is what it wants.
     */
    removeDomain: (ref: MachineRef) =>
      operation(ref, 'undefine', async () => {
        const now = await adapter.state(ref.name);
        if (now === 'absent') return { observed: 'absent' };
        if (now !== 'shutoff') await adapter.destroy(ref.name);
        await adapter.undefine(ref.name);
        return { observed: 'absent' };
      }),

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

    /** The reconciler's findings. Safe twice: the workflow keys each event (by run and machine, by domain UUID). */
    async recordReconcile(events: MachineEvent[]): Promise<number> {
      for (const e of events.filter((e) => e.machineId === undefined)) {
        log.warn({ domain: e.domainName, ...e.details }, e.message);
      }
      return insertEvents(pool, events);
    },
  };
}

export type VmActivities = ReturnType<typeof createVmActivities>;
