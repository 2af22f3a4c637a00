import type { SearchAttributePair } from '@temporalio/common';

/**
 * What a process declares about one of its Temporal Schedules, as plain data in its
 * contract; lib/infra/schedules.ts applies declarations to the server.
 */
export interface ScheduleDeclaration {
  scheduleId: string;
  /** An interval such as `1m` or `24h`. */
  every: string;
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  args: unknown[];
  /** Shown in the Web UI's schedule list and on every run it starts. */
  summary: string;
  /** Set on every run it starts, so the Web UI's list can show a state column from the first moment. */
  searchAttributes?: SearchAttributePair[];
  overlap: 'SKIP' | 'BUFFER_ONE' | 'ALLOW_ALL';
  catchupWindow: string;
}

/**
 * Why a run its Schedule started should end rather than go on: the Schedule is paused (or
 * gone), or the Schedule runs another run (the one asking was started by a trigger).
 */
export type ScheduleStop = 'paused' | 'superseded';

/**
 * One of a process's Schedules with the setting that sets its interval, as its contract
 * declares it. `off` in that setting leaves this Schedule on the server as it is (paused,
 * deleted or changed by an operator) and touches no other.
 */
export interface ScheduleSwitch {
  setting: string;
  /** A duration such as `1m`, or `off`. */
  every: string;
  declare: (every: string) => ScheduleDeclaration;
}
