import { createActivities } from '../activities';
import { applyCbbSweepSchedule } from '../lib/cbb-schedule';
import { loadConfig } from '../lib/config';
import { runWorker } from './run';

/** The main worker: every I/O-bound workflow and activity, on the `orchestrator` task queue. */
async function main() {
  const config = loadConfig();
  await runWorker(config, {
    name: 'orchestrator',
    taskQueue: config.temporal.taskQueue,
    activities: createActivities,
    onStart: async ({ client, log }) => {
      await applyCbbSweepSchedule(client, config, log);
    },
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
