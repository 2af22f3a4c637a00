import { loadConfig } from '../lib/infra/config';
import { runWorker } from './run';

/**
 * The hmm worker: analyses and the daily refit on their own task queue, in their own
 * process, so CPU-bound fits never delay the I/O-bound workflows of the orchestrator
 * worker. More fitting capacity is more of these processes (one per core).
 */
async function main() {
  const config = loadConfig();
  await runWorker(config, {
    role: 'hmm',
    taskQueue: config.hmm.taskQueue,
    processes: ['hmm'],
    // Its own metrics port, so it can run beside the orchestrator worker on one machine.
    metricsPort: config.hmm.workerMetricsPort,
    maxConcurrentActivities: config.hmm.maxConcurrentActivities,
    // Heartbeats go out at most every 0.8 × the fit's 30 s heartbeat timeout by default, and a
    // cancellation is only learnt from the answer to one: once a second makes it prompt.
    maxHeartbeatThrottleInterval: '1s',
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
