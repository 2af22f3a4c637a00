import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { ScheduleDeclaration, ScheduleStop, ScheduleSwitch } from '../schedule';
import type { Logger } from './logger';

/** The Schedule a declaration describes, as the client creates it. */
export function scheduleOptions(d: ScheduleDeclaration): ScheduleOptions {
  return {
    scheduleId: d.scheduleId,
    spec: { intervals: [{ every: d.every as Duration }] },
    action: {
      type: 'startWorkflow',
      workflowType: d.workflowType,
      workflowId: d.workflowId,
      taskQueue: d.taskQueue,
      args: d.args,
      staticSummary: d.summary,
      ...(d.searchAttributes ? { typedSearchAttributes: d.searchAttributes } : {}),
    },
    policies: { overlap: d.overlap, catchupWindow: d.catchupWindow as Duration },
  };
}

/**
 * Creates the Schedule when it is missing and brings an existing one back to its
 * declaration, keeping whether an operator paused it.
 */
export async function applySchedule(
  client: Client,
  declaration: ScheduleDeclaration,
  log: Logger,
): Promise<'created' | 'updated'> {
  const { scheduleId, ...wanted } = scheduleOptions(declaration);
  try {
    await client.schedule.create({ scheduleId, ...wanted });
    log.info({ scheduleId, every: declaration.every }, 'schedule created');
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, ...wanted, state: previous.state }));
  log.info({ scheduleId, every: declaration.every }, 'schedule brought up to date');
  return 'updated';
}

/**
 * Whether a run its Schedule started should stop: its Schedule is paused or gone, or the
 * Schedule runs another run. A run started by a trigger is not among the Schedule's
 * running actions (a trigger's overlap policy is its own), so the next tick starts a
 * second run; the triggered one then steps aside.
 */
export async function scheduleStop(
  client: Client,
  scheduleId: string,
  workflowId: string,
): Promise<ScheduleStop | undefined> {
  try {
    const d = await client.schedule.getHandle(scheduleId).describe();
    if (d.state.paused) return 'paused';
    const running = d.info.runningActions.map((a) => a.workflow.workflowId);
    return running.length > 0 && !running.includes(workflowId) ? 'superseded' : undefined;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return 'paused';
    throw err;
  }
}

/**
 * Applies a worker's Schedules from their declarations: each is applied or, when its
 * setting is `off`, left alone, independently of the others. One that fails does not keep
 * the rest from being applied; the failures are thrown together once all were tried.
 */
export async function applySchedules(client: Client, switches: ScheduleSwitch[], log: Logger): Promise<void> {
  const failed: string[] = [];
  for (const s of switches) {
    if (s.every === 'off') {
      log.info({ setting: s.setting }, `${s.setting}=off: this Schedule is left as it is on the server`);
      continue;
    }
    const declaration = s.declare(s.every);
    try {
      await applySchedule(client, declaration, log);
    } catch (err) {
      log.error({ scheduleId: declaration.scheduleId, err: String(err) }, 'schedule not applied');
      failed.push(`${declaration.scheduleId} (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  if (failed.length) throw new Error(`could not apply the Schedules ${failed.join(', ')}`);
}
