import type { Config } from '../../lib/infra/config';
import type { Pool } from '../../lib/infra/db';
import type { MachineRef, OperationOutcome } from '../../lib/vm/contract';
import type { MachineSpec } from '../../lib/vm/validate';
import { addSnapshot } from '../../store/vm/machines';
import type { VmAdapter } from './adapter';
import { buildDomainXml } from './domain-xml';
import type { RecordedOperation } from './recorded-operation';

/**
 * The activities that change a machine's domain, one libvirt operation each, every one
 * run by `operation` so that its outcome lands in the machine's row and event log. Each
 * says what makes it safe to run twice.
 */
export function createMachineOperations(deps: {
  config: Pick<Config, 'libvirt' | 'vm'>;
  pool: Pool;
  adapter: VmAdapter;
  operation: RecordedOperation;
}) {
  const { config, pool, adapter, operation } = deps;

  return {
    /** Safe twice: the same name and UUID define the same domain again, which libvirt takes as an update. */
    async defineMachine(ref: MachineRef, input: { uuid: string; spec: MachineSpec }): Promise<OperationOutcome> {
      const { spec, uuid } = input;
      const xml = buildDomainXml({
        name: spec.name,
        uuid,
        machineId: spec.machineId,
        type: config.libvirt.domainType,
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
          const timeoutMs = (args.timeoutSeconds ?? 0) * 1000 || config.vm.shutdownTimeoutMs;
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
  };
}
