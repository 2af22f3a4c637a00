import type { Duration, SearchAttributePair, UpdateDefinition } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { z } from 'zod';
import type { ScheduleDeclaration, ScheduleStop, ScheduleSwitch } from '../schedule';
import { searchAttributes } from '../search-attributes';
import type { VmErrorCode } from './errors';
import type { LostSnapshot } from './snapshots';
import type { ObservedState, StateReason } from './states';
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
  /** The libvirt UUID chosen with the machine's row, so that a retried define names the same domain. */
  uuid: string;
  /** Carried across continue-as-new; absent on the first run, which provisions the machine. */
  carry?: VmCarriedState;
  /** Operations per run before the workflow continues as new (default 200); tests lower it. */
  operationsPerRun?: number;
}

export interface VmLifecycleResult {
  machineId: string;
  phase: 'deleted' | 'failed';
  reason?: string;
}

export type VmLifecycleWorkflow = (input: VmLifecycleInput) => Promise<VmLifecycleResult>;

/** What the workflow wants the machine to be, as the reconciler compares it with libvirt. */
export type DesiredState = 'running' | 'paused' | 'stopped' | 'deleted';

export type Phase = 'provisioning' | 'ready' | 'failed' | 'deleting' | 'deleted';

export interface VmCarriedState {
  phase: Phase;
  desired: DesiredState;
  observed: ObservedState;
  runStrategy: RunStrategy;
  snapshots: string[];
  /** Snapshots libvirt no longer has, kept so that a revert to one is refused with the reason. */
  lostSnapshots?: LostSnapshot[];
  operations: number;
  /** Runs before this one (continue-as-new), for the progress query. */
  continuedRuns?: number;
  lastError?: { code: VmErrorCode; message: string };
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
  continuedRuns: number;
  snapshots: string[];
  lostSnapshots: LostSnapshot[];
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

/**
 * What the reconciler saw, sent to the machine's own workflow: the workflow looks again
 * and corrects the drift itself, in turn with the user's operations, so nothing changes
 * a machine behind its workflow's back.
 */
export interface DriftReport {
  observed: ObservedState;
  reason?: StateReason;
  drift: string;
  /** Recorded snapshots libvirt did not list; the workflow looks again before it marks them lost. */
  lostSnapshots?: string[];
}

export const driftSignal = defineSignal<[DriftReport]>('drift');

/**
 * How every machine's workflow is started: the machine's id in the workflow id (a second
 * start of the same machine is refused), its name findable as VmName in the Web UI.
 */
export function vmStartOptions(input: VmLifecycleInput, templateName: string) {
  const { spec } = input;
  return {
    workflowId: vmWorkflowId(spec.machineId),
    args: [input] as [VmLifecycleInput],
    typedSearchAttributes: [
      { key: searchAttributes.vmName, value: spec.name },
      { key: searchAttributes.vmState, value: 'provisioning' },
    ] as SearchAttributePair[],
    staticSummary: `VM ${spec.name} (machine ${spec.machineId})`,
    staticDetails:
      `Template ${templateName}: ${spec.template.vcpus} vCPU, ${spec.template.memoryMiB} MiB; ` +
      `run strategy ${spec.runStrategy}.`,
  };
}

export interface VmReconcileSummary {
  machines: number;
  drifted: number;
  signalled: number;
  /** Drift whose machine has no running workflow to correct it: reported only. */
  unattended: number;
  orphans: string[];
  /** A run its Schedule started: the passes it made (this summary is the last one's) and why it ended. */
  passes?: number;
  ended?: VmReconcileEnd;
}

/** Why a run its Schedule started ended: its Schedule's word, or its bounds (time, history). */
export type VmReconcileEnd = ScheduleStop | 'time' | 'history';

export interface VmReconcileInput {
  /**
   * Set by the Schedule: after a pass the run sleeps this long and reconciles again rather
   * than ending, so a pass a minute adds no run to the workflow list.
   */
  every?: Duration;
  /** How long such a run goes on before it ends and leaves the next start to its Schedule. */
  runFor?: Duration;
  /** The Schedule whose pause (or deletion, or another run) ends the run at its next pass. */
  schedule?: string;
}

/** Runs started without input (on demand, or before the Schedule passed one) make one pass. */
export type VmReconcileWorkflow = (input?: VmReconcileInput) => Promise<VmReconcileSummary>;

export const vmReconcileWorkflowType = 'vmReconcile';
export const vmReconcileScheduleId = 'vm-reconcile';

/** A scheduled run ends after this long: six runs a day in the list instead of 1,440 (docs/vm.md). */
export const vmReconcileRunFor: Duration = '4h';

/**
 * The reconciler's Schedule, applied at every worker start. The run it starts reconciles
 * every `every` until `vmReconcileRunFor` has passed (so the overlapping ticks are
 * skipped, adding nothing to the list); one missed while the server was down runs once.
 */
export function vmReconcileSchedule(opts: { every: string; taskQueue: string }): ScheduleDeclaration {
  return {
    scheduleId: vmReconcileScheduleId,
    every: opts.every,
    workflowType: vmReconcileWorkflowType,
    workflowId: vmReconcileScheduleId,
    taskQueue: opts.taskQueue,
    args: [
      { every: opts.every as Duration, runFor: vmReconcileRunFor, schedule: vmReconcileScheduleId },
    ] satisfies VmReconcileInput[],
    summary: `Reconcile: compare every machine with libvirt every ${opts.every} and have its workflow correct the drift`,
    overlap: 'SKIP',
    catchupWindow: '1m',
  };
}

/** The VM lifecycle's Schedules, each with the setting that sets it or turns it off. */
export function vmSchedules(settings: { reconcileEvery: string }, taskQueue: string): ScheduleSwitch[] {
  return [
    {
      setting: 'VM_RECONCILE_EVERY',
      every: settings.reconcileEvery,
      declare: (every) => vmReconcileSchedule({ every, taskQueue }),
    },
  ];
}

/** A machine as its activities name it: the row's id and the domain's name. */
export interface MachineRef {
  machineId: string;
  name: string;
}

/** What an operation left the machine as, in libvirt's words. */
export interface OperationOutcome {
  observed: ObservedState;
  /** shutdown only: the guest ignored ACPI and was destroyed after the timeout. */
  forced?: boolean;
}
