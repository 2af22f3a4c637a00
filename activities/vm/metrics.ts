import type { MetricMeter } from '@temporalio/common';
import { operationNames, type OperationName } from '../../lib/vm/contract';
import { vmErrorCodes, type VmErrorCode } from '../../lib/vm/errors';
import { labelSets, onRuntimeMeter } from '../meter';

/** The libvirt operations the VM activities run: define, the user's operations, and undefine (a delete's second half). */
export type VmOperation = 'define' | Exclude<OperationName, 'delete'> | 'undefine';
export const vmOperations: readonly VmOperation[] = [
  'define',
  ...operationNames.filter((n): n is Exclude<OperationName, 'delete'> => n !== 'delete'),
  'undefine',
];

export const vmHistograms = ['vm_operation_duration_seconds'];

export interface VmMetrics {
  operation(op: string, outcome: 'ok' | 'error', seconds: number, code?: VmErrorCode): void;
  /** Snapshots found missing from libvirt and marked lost. */
  snapshotsLost(count: number): void;
}

const opLabel = (op: string) => ((vmOperations as readonly string[]).includes(op) ? op : 'other');

export function createVmMetrics(meter: MetricMeter): VmMetrics {
  const ops = meter.createCounter('vm_operations_total', '', 'VM operations on libvirt, by operation and outcome');
  const errors = meter.createCounter('vm_operation_errors_total', '', 'Failed VM operations, by error code');
  const latency = meter.createHistogram(
    'vm_operation_duration_seconds',
    'float',
    's',
    'Time a VM operation took, failed ones included, by operation',
  );
  const lost = meter.createCounter(
    'vm_snapshots_lost_total',
    '',
    "Snapshots a machine's record listed that libvirt no longer had, marked lost by reconcile",
  );
  lost.add(0);
  for (const set of labelSets({ op: vmOperations, outcome: ['ok', 'error'] })) ops.add(0, set);
  for (const code of vmErrorCodes) errors.add(0, { code });
  return {
    operation(op, outcome, seconds, code) {
      ops.add(1, { op: opLabel(op), outcome });
      latency.record(seconds, { op: opLabel(op) });
      if (outcome === 'error') errors.add(1, { code: code ?? 'MACHINE_OPERATION_FAILED' });
    },
    snapshotsLost(count) {
      lost.add(count);
    },
  };
}

export const runtimeVmMetrics = onRuntimeMeter(createVmMetrics);
