import { createActivities } from '../activities';
import { accessUsageFlushSchedule } from '../lib/access/contract';
import { cbbSweepSchedule } from '../lib/cbb/contract';
import { applySchedule } from '../lib/infra/schedules';
import { loadConfig } from '../lib/infra/config';
import { vmReconcileSchedule } from '../lib/vm/contract';
import { runWorker } from './run';

/** The main worker: every I/O-bound workflow and activity, on the `orchestrator` task queue. */
async function main() {
  const config = loadConfig();
  await runWorker(config, {
    name: 'orchestrator',
    taskQueue: config.temporal.taskQueue,
    activities: createActivities,
    onStart: async ({ client, log }) => {
      if (config.access.usageFlushEvery === 'off')
        log.info('ACCESS_USAGE_FLUSH_EVERY=off: the key-usage flush schedule is left as it is');
      else
        await applySchedule(
          client,
          accessUsageFlushSchedule({ every: config.access.usageFlushEvery, taskQueue: config.temporal.taskQueue }),
          log,
        );
      if (config.cbb.sweepEvery === 'off') {
        log.info('CBB_SWEEP_EVERY=off: the sweep schedule is left as it is');
        return;
      }
      await applySchedule(
        client,
        cbbSweepSchedule({
          every: config.cbb.sweepEvery,
          concurrency: config.cbb.sweepConcurrency,
          taskQueue: config.temporal.taskQueue,
        }),
        log,
      );
      await applySchedule(
        client,
        vmReconcileSchedule({ every: config.vm.reconcileEvery, taskQueue: config.temporal.taskQueue }),
        log,
      );
    },
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
