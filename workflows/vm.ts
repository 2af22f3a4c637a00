import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import {
  driftSignal,
  operationNames,
  operationUpdates,
  progress,
  type VmLifecycleInput,
  type VmLifecycleResult,
} from '../lib/vm/contract';
import { MachineLife } from './vm-life';

/**
 * One machine's whole life, id `vm-<machineId>`: provision it (define, then start; on
 * failure undo what was done, mark it failed and say why), then serve its operations as
 * updates, one at a time in the order they arrived, until it is deleted. An operation
 * the machine's state cannot take (resume a running machine) is refused by the update's
 * validator before it enters the history. The reconciler's drift reports wait their turn
 * in the same queue, so nothing changes the machine behind its workflow's back.
 */

export async function vmLifecycle(input: VmLifecycleInput): Promise<VmLifecycleResult> {
  const machine = new MachineLife(input);
  // Provisioning goes first in the queue, before any handler is registered: updates that
  // arrived with the start are delivered as their handlers are set, and must wait behind it.
  const provisioned = input.carry ? undefined : machine.queue.run(() => machine.provision());

  for (const op of operationNames) {
    setHandler(operationUpdates[op] as typeof operationUpdates.start, (args) => machine.operate(op, args as never), {
      validator: (args) => machine.validate(op, args as never),
    });
  }
  setHandler(progress, () => machine.progress());
  setHandler(driftSignal, (report) => machine.drift(report));

  machine.publish();
  await provisioned;
  await condition(() => machine.runEnds());
  // Updates already accepted finish (or are refused) before the run ends or continues.
  await condition(allHandlersFinished);
  const { s, spec } = machine;
  if (s.phase === 'failed') {
    throw ApplicationFailure.create({
      message: `machine ${spec.name} could not be provisioned: ${s.lastError?.message}`,
      type: 'ProvisionFailed',
      nonRetryable: true,
    });
  }
  if (s.phase === 'deleted') return { machineId: spec.machineId, phase: 'deleted' };
  s.continuedRuns = (s.continuedRuns ?? 0) + 1;
  return continueAsNew<typeof vmLifecycle>({ ...input, spec: { ...spec, runStrategy: s.runStrategy }, carry: s });
}
