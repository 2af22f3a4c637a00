import { createHmmActivities } from '../activities/hmm';
import { hmmRefitSchedule } from '../lib/hmm/contract';
import { loadConfig } from '../lib/infra/config';
import { applySchedule } from '../lib/infra/schedules';
import { runWorker } from './run';

/**
 * The hmm worker: analyses and the daily refit on their own task queue, in their own
 * process, so CPU-bound fits never delay the I/O-bound workflows of the orchestrator
 * worker. More fitting capacity is more of these processes (one per core).
 */
async function main() {
  const loaded = loadConfig();
  // Its own metrics port, so it can run beside the orchestrator worker on one machine.
  const config = { ...loaded, worker: { ...loaded.worker, metricsPort: loaded.hmm.workerMetricsPort } };
  await runWorker(config, {
    name: 'hmm',
    taskQueue: config.hmm.taskQueue,
    activities: createHmmActivities,
    maxConcurrentActivities: config.hmm.maxConcurrentActivities,
    // Heartbeats go out at most every 0.8 × the fit's 30 s heartbeat timeout by default, and a
    // cancellation is only learnt from the answer to one: once a second makes it prompt.
    maxHeartbeatThrottleInterval: '1s',
    onStart: async ({ client, log }) => {
      await applySchedule(
        client,
        hmmRefitSchedule({
          every: config.hmm.refitEvery,
          concurrency: config.hmm.refitConcurrency,
          taskQueue: config.hmm.taskQueue,
        }),
        log,
      );
    },
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
