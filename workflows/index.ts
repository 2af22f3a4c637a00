/** The workflow types this worker registers: workflow functions only (a unit test holds this). */
export { batchMigration } from './batch-migration';
export { cbbSweep } from './cbb-sweep';
export { cbbSyncOrder } from './cbb-sync';
export { canaryRollout } from './rollout';
export { selfCheck } from './self-check';
export { hmmAnalysis } from './hmm';
export { hmmRefit } from './hmm-refit';
export { vmLifecycle } from './vm';
export { vmReconcile } from './vm-reconcile';
export { accessUsageFlush } from './access-usage-flush';
