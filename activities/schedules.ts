import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { scheduleStop } from '../lib/infra/schedules';
import type { ScheduleStop } from '../lib/schedule';

/**
 * What a workflow that loops inside its Schedule's run asks between passes: whether its
 * Schedule is paused or gone, or runs another run. Reads only, so safe to retry.
 */
export function createScheduleActivities({ client }: { client: Client }) {
  return {
    async checkSchedule(scheduleId: string): Promise<ScheduleStop | null> {
      const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
      return (await scheduleStop(client, scheduleId, workflowId)) ?? null;
    },
  };
}

export type ScheduleActivities = ReturnType<typeof createScheduleActivities>;
