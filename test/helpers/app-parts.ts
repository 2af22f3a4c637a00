import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { cbbSweepSchedule, cbbSweepScheduleId } from '../../lib/cbb/contract';
import { loadConfig } from '../../lib/infra/config';
import { scheduleOptions } from '../../lib/infra/schedules';
import { startAppPart, stackSettings, type AppName } from '../../scripts/stack/parts';
import { stopProcess } from '../../scripts/stack/proc';

/**
 * The compiled worker and API processes, as the end-to-end tests and the crash test
 * start them. The worker applies the one-minute CBB sweep Schedule when it starts,
 * and a sweep syncs every pending order in the database, other files' included: so
 * the Schedule is created paused before the worker starts (applySchedule keeps an
 * operator's pause), and every process a file started is stopped in its afterAll.
 */
const s = stackSettings('test');

export async function pauseSweepSchedule(client: Client): Promise<void> {
  const handle = client.schedule.getHandle(cbbSweepScheduleId);
  try {
    await handle.pause('paused by the tests: a sweep would sync other test files’ pending orders');
    return;
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  const config = loadConfig();
  const d = cbbSweepSchedule({
    every: config.cbb.sweepEvery,
    concurrency: config.cbb.sweepConcurrency,
    taskQueue: config.temporal.taskQueue,
  });
  await client.schedule.create({ ...scheduleOptions(d), state: { paused: true, note: 'paused by the tests' } });
}

/** Starts the compiled worker with its sweep Schedule paused; returns its pid. */
export async function startWorkerProcess(client: Client, env: NodeJS.ProcessEnv = {}): Promise<number> {
  await pauseSweepSchedule(client);
  return startAppPart(s, 'worker', env);
}

export function startApiProcess(env: NodeJS.ProcessEnv = {}): Promise<number> {
  return startAppPart(s, 'api', env);
}

/** Stops the processes this file started (SIGTERM, then SIGKILL after the part's grace). */
export async function stopAppProcesses(...names: AppName[]): Promise<void> {
  for (const name of names) await stopProcess(s, name, { graceMs: 60_000 });
}
