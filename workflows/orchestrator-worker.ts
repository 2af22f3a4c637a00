/** The workflow types the orchestrator worker registers: workflow functions only (a unit test holds this). */
export { batchMigration } from './batch-migration';
export { cbbSweep } from './cbb-sweep';
export { cbbSyncOrder } from './cbb-sync';
export { canaryRollout } from './rollout';
export { selfCheck } from './self-check';
export { vmLifecycle } from './vm';
export { vmReconcile } from './vm-reconcile';
export { accessUsageFlush } from './access-usage-flush';
