import type { UpdateDefinition } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { z } from 'zod';
import type { VmErrorCode } from './errors';
import type { ObservedState } from './states';
import type { MachineSpec, RunStrategy, operationArgsSchemas } from './validate';

/**
 * The vmLifecycle workflow's contract, shared by the workflow, the activities and the
 * API: one workflow per machine, `vm-<machineId>`, serving operations as updates (one
 * update per operation, so the Web UI's history names what was asked), and a progress
 * query. From the Temporal CLI:
 * `temporal workflow update execute -w vm-42 --name snapshot --input '{"name":"before-upgrade"}'`.
 */

export const vmWorkflowType = 'vmLifecycle';
export const vmWorkflowId = (machineId: string): string => `vm-${machineId}`;

export const operationNames = [
  'start',
  'shutdown',
  'destroy',
  'reboot',
  'suspend',
  'resume',
  'snapshot',
  'revert',
  'resize',
  'delete',
] as const;
export type OperationName = (typeof operationNames)[number];

export type OperationArgs = { [K in OperationName]: z.input<(typeof operationArgsSchemas)[K]> };

export interface VmLifecycleInput {
  spec: MachineSpec;
  /** Carried across continue-as-new; absent on the first run, which provisions the machine. */
  carry?: VmCarriedState;
}

/** What the workflow wants the machine to be, as the reconciler compares it with libvirt. */
export type DesiredState = 'running' | 'paused' | 'stopped' | 'deleted';

export type Phase = 'provisioning' | 'ready' | 'failed' | 'deleting' | 'deleted';

export interface VmCarriedState {
  phase: Phase;
  desired: DesiredState;
  observed: ObservedState;
  runStrategy: RunStrategy;
  snapshots: string[];
  operations: number;
}

export interface OperationResult {
  operation: OperationName;
  /** The state libvirt reported once the operation was done. */
  observed: ObservedState;
  /** shutdown only: the guest ignored the request and was destroyed after the timeout. */
  forced?: boolean;
}

export interface VmProgress {
  machineId: string;
  name: string;
  phase: Phase;
  desired: DesiredState;
  observed: ObservedState;
  runStrategy: RunStrategy;
  /** The operation being carried out, and how many updates wait behind it. */
  current?: OperationName;
  queued: number;
  operations: number;
  snapshots: string[];
  lastError?: { code: VmErrorCode; message: string };
}

type OperationUpdates = { [K in OperationName]: UpdateDefinition<OperationResult, [OperationArgs[K]], K> };

export const operationUpdates: OperationUpdates = {
  start: defineUpdate('start'),
  shutdown: defineUpdate('shutdown'),
  destroy: defineUpdate('destroy'),
  reboot: defineUpdate('reboot'),
  suspend: defineUpdate('suspend'),
  resume: defineUpdate('resume'),
  snapshot: defineUpdate('snapshot'),
  revert: defineUpdate('revert'),
  resize: defineUpdate('resize'),
  delete: defineUpdate('delete'),
};

export const progress = defineQuery<VmProgress>('progress');
