import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from './config';
import type { Logger } from './logger';

/**
 * The CBB sweep's Schedule, declared here and applied at every worker start: created
 * when missing, brought back to this declaration when it exists, so a change to the
 * interval or the concurrency ships with the code.
 */
export const cbbSweepScheduleId = 'cbb-sweep';
export const cbbSweepWorkflowId = 'cbb-sweep';

export function cbbSweepArgs(config: Pick<Config, 'cbb'>) {
  return [{ concurrency: config.cbb.sweepConcurrency }] as [{ concurrency: number }];
}

function declaration(config: Pick<Config, 'cbb' | 'temporal'>) {
  return {
    spec: { intervals: [{ every: config.cbb.sweepEvery as `${number}m` }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'cbbSweep',
      workflowId: cbbSweepWorkflowId,
      taskQueue: config.temporal.taskQueue,
      args: cbbSweepArgs(config),
      staticSummary: 'Sweep: start the CBB sync of every pending order',
    },
    // A sweep that outlasts its interval is not doubled; one missed while the server was down runs once.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' as const },
  };
}

export async function applyCbbSweepSchedule(client: Client, config: Pick<Config, 'cbb' | 'temporal'>, log: Logger): Promise<'created' | 'updated'> {
  const wanted = declaration(config);
  try {
    await client.schedule.create({ scheduleId: cbbSweepScheduleId, ...wanted });
    log.info({ scheduleId: cbbSweepScheduleId, every: config.cbb.sweepEvery }, 'CBB sweep schedule created');
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(cbbSweepScheduleId).update((previous) => ({ ...previous, ...wanted, state: previous.state }));
  log.info({ scheduleId: cbbSweepScheduleId, every: config.cbb.sweepEvery }, 'CBB sweep schedule brought up to date');
  return 'updated';
}
