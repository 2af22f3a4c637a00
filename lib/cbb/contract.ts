import type { Duration, SearchAttributePair } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';
import type { ScheduleDeclaration, ScheduleSwitch } from '../schedule';
import { searchAttributes } from '../search-attributes';

/**
 * The CBB sync's contract, shared by the workflows, the activities that start syncs,
 * the API and the worker: workflow ids, start options, queries and the types on the
 * wire. Temporal type names (`cbbSyncOrder`, `cbbSweep`) stay as they were recorded.
 */

export type SyncStatus = 'syncing' | 'synced' | 'confirmed' | 'skipped' | 'failed' | 'error';
export type SyncStep = 'loading' | 'contact' | 'fields' | 'confirmation' | 'done';

export interface CbbSyncInput {
  orderId: string;
}

export interface CbbSyncResult {
  orderId: string;
  status: SyncStatus;
  contactId?: string;
  /** failed: the contact was gone at send time even after it was made again (the reason says so). */
  confirmation?: 'sent' | 'already-sent' | 'unconfirmed' | 'skipped' | 'failed';
  reason?: string;
}

export interface CbbSyncProgress {
  orderId: string;
  step: SyncStep;
  status: SyncStatus;
  contactId?: string;
  reason?: string;
}

export type CbbSyncWorkflow = (input: CbbSyncInput) => Promise<CbbSyncResult>;

export const cbbSyncWorkflowType = 'cbbSyncOrder';
export const cbbSyncProgress = defineQuery<CbbSyncProgress>('cbbSyncProgress');
export const cbbSyncWorkflowId = (orderId: string) => `cbb-sync-order-${orderId}`;

/**
 * How every sync is started, by the API or by the sweep: the order's id as the workflow
 * id (so a second start joins the first), and the search attributes the list shows
 * until the sync publishes its outcome.
 */
export function cbbSyncStartOptions(orderId: string, startedBy: 'api' | 'sweep') {
  return {
    workflowId: cbbSyncWorkflowId(orderId),
    args: [{ orderId }] as [CbbSyncInput],
    typedSearchAttributes: [
      { key: searchAttributes.orderId, value: orderId },
      { key: searchAttributes.syncStatus, value: 'syncing' },
    ] as SearchAttributePair[],
    staticSummary: `CBB sync of order ${orderId}${startedBy === 'sweep' ? ' (sweep)' : ''}`,
  };
}

export interface CbbSweepTotals {
  started: number;
  joined: number;
  synced: number;
  notSynced: number;
}

export const noSweepTotals = (): CbbSweepTotals => ({ started: 0, joined: 0, synced: 0, notSynced: 0 });

export interface CbbSweepInput {
  concurrency: number;
  pageSize?: number;
  /** Orders per run; the sweep continues as new after each. */
  perRun?: number;
  /** Carried across continue-as-new. */
  cursor?: string;
  totals?: CbbSweepTotals;
  /**
   * Set by the Schedule: after a sweep that found nothing, the run sleeps this long and
   * sweeps again rather than ending, so idle minutes add no run to the workflow list.
   */
  every?: Duration;
  /** How long a run stays idle before it ends and leaves the next start to its Schedule. */
  idleFor?: Duration;
  /** The Schedule whose pause ends the run at its next sweep. */
  schedule?: string;
  /** When the current idle stretch began (workflow time, ms), carried across continue-as-new. */
  idleSince?: number;
}

/** Why a scheduled sweep run stopped before sweeping. */
export type SweepStop = 'paused' | 'superseded';

/** A sweep run's SyncStatus, kept current by a run its Schedule started. */
export type SweepStatus = 'sweeping' | 'idle' | 'ended';

export type CbbSweepWorkflow = (input: CbbSweepInput) => Promise<CbbSweepTotals>;

export const cbbSweepWorkflowType = 'cbbSweep';
export const cbbSweepProgress = defineQuery<CbbSweepTotals & { cursor: string }>('cbbSweepProgress');
/** The scheduled sweep's id; an on-demand sweep runs under its own id, so the two never block each other. */
export const cbbSweepScheduleId = 'cbb-sweep';
export const cbbSweepOnDemandWorkflowId = 'cbb-sweep-now';

export const cbbSweepArgs = (concurrency: number): [CbbSweepInput] => [{ concurrency }];

/**
 * An idle scheduled run ends after this long: 240 empty sweeps a run at one a minute, about
 * 2,700 history events, so six runs a day in the list instead of 1,440 (docs/cbb-sync.md).
 */
export const cbbSweepIdleFor: Duration = '4h';

/**
 * The sweep's Schedule, applied at every worker start: a change to the interval or the
 * concurrency ships with the code. A sweep that outlasts its interval is not doubled;
 * one missed while the server was down runs once. The run it starts keeps sweeping every
 * `every` while idle (so overlapping ticks are skipped, adding nothing to the list) and
 * ends after `cbbSweepIdleFor` idle or when the Schedule is paused.
 */
export function cbbSweepSchedule(opts: { every: string; concurrency: number; taskQueue: string }): ScheduleDeclaration {
  return {
    scheduleId: cbbSweepScheduleId,
    every: opts.every,
    workflowType: cbbSweepWorkflowType,
    workflowId: cbbSweepScheduleId,
    taskQueue: opts.taskQueue,
    args: [
      {
        concurrency: opts.concurrency,
        every: opts.every as Duration,
        idleFor: cbbSweepIdleFor,
        schedule: cbbSweepScheduleId,
      },
    ],
    summary: `Sweep: start the CBB sync of every pending order, every ${opts.every}`,
    // SyncStatus on a sweep run is the sweep's state (sweeping, idle, ended), the list's column for CBB runs.
    searchAttributes: [{ key: searchAttributes.syncStatus, value: 'sweeping' }],
    overlap: 'SKIP',
    catchupWindow: '1m',
  };
}

/** The CBB sync's Schedules, each with the setting that sets it or turns it off. */
export function cbbSchedules(
  settings: { sweepEvery: string; sweepConcurrency: number },
  taskQueue: string,
): ScheduleSwitch[] {
  return [
    {
      setting: 'CBB_SWEEP_EVERY',
      every: settings.sweepEvery,
      declare: (every) => cbbSweepSchedule({ every, concurrency: settings.sweepConcurrency, taskQueue }),
    },
  ];
}
