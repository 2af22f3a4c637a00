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
