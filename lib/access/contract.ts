import type { ScheduleDeclaration, ScheduleSwitch } from '../schedule';

/**
 * Key usage (last use, request counts) is counted in Redis on every request and written
 * to Postgres in batches by a scheduled workflow: one write per key per flush instead of
 * one per request.
 */
export const accessUsageFlushWorkflowType = 'accessUsageFlush';
export const accessUsageFlushScheduleId = 'access-usage-flush';

export interface AccessUsageFlushResult {
  keys: number;
  requests: number;
}

export type AccessUsageFlushWorkflow = () => Promise<AccessUsageFlushResult>;

export function accessUsageFlushSchedule(opts: { every: string; taskQueue: string }): ScheduleDeclaration {
  return {
    scheduleId: accessUsageFlushScheduleId,
    every: opts.every,
    workflowType: accessUsageFlushWorkflowType,
    workflowId: accessUsageFlushScheduleId,
    taskQueue: opts.taskQueue,
    args: [],
    summary: 'Write the API keys’ batched usage (last use, request counts) to Postgres',
    overlap: 'SKIP',
    catchupWindow: '1m',
  };
}

/** The key-usage flush's Schedules, each with the setting that sets it or turns it off. */
export function accessSchedules(settings: { usageFlushEvery: string }, taskQueue: string): ScheduleSwitch[] {
  return [
    {
      setting: 'ACCESS_USAGE_FLUSH_EVERY',
      every: settings.usageFlushEvery,
      declare: (every) => accessUsageFlushSchedule({ every, taskQueue }),
    },
  ];
}
