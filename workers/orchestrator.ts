import { loadConfig } from '../lib/infra/config';
import { runWorker } from './run';

/** The main worker: every I/O-bound process, on the `orchestrator` task queue. */
async function main() {
  const config = loadConfig();
  await runWorker(config, {
    role: 'orchestrator',
    taskQueue: config.temporal.taskQueue,
    processes: ['self-check', 'cbb', 'batch-migration', 'rollout', 'vm', 'access'],
    metricsPort: config.worker.metricsPort,
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
