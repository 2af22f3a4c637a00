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
  overlap: 'SKIP' | 'BUFFER_ONE' | 'ALLOW_ALL';
  catchupWindow: string;
}
