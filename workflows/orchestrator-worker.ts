/**
 * The workflow types the orchestrator worker registers: workflow functions only (a unit test holds this).
 *
 * Each one loads its module when a workflow of its type starts, not before. In the worker's
 * reusable V8 context every workflow run evaluates the modules it reaches afresh (the SDK
 * keeps their state apart per run), so a static export of every process would make each CBB
 * sync evaluate the rollout's and the VM's zod schemas too: about 60 modules and zod, a
 * third of the sync's CPU in the workflow thread (docs/cbb-sync.md, "Where the worker's CPU
 * goes"). Loading a module is deterministic, and the call it wraps is the same.
 */
import type * as BatchMigration from './batch-migration';
import type * as CbbSweep from './cbb-sweep';
import type * as CbbSync from './cbb-sync';
import type * as Rollout from './rollout';
import type * as SelfCheck from './self-check';
import type * as Vm from './vm';
import type * as VmReconcile from './vm-reconcile';
import type * as AccessUsageFlush from './access-usage-flush';

export async function batchMigration(...args: Parameters<typeof BatchMigration.batchMigration>) {
  return (await import(/* webpackMode: "eager" */ './batch-migration')).batchMigration(...args);
}
export async function cbbSweep(...args: Parameters<typeof CbbSweep.cbbSweep>) {
  return (await import(/* webpackMode: "eager" */ './cbb-sweep')).cbbSweep(...args);
}
export async function cbbSyncOrder(...args: Parameters<typeof CbbSync.cbbSyncOrder>) {
  return (await import(/* webpackMode: "eager" */ './cbb-sync')).cbbSyncOrder(...args);
}
export async function canaryRollout(...args: Parameters<typeof Rollout.canaryRollout>) {
  return (await import(/* webpackMode: "eager" */ './rollout')).canaryRollout(...args);
}
export async function selfCheck(...args: Parameters<typeof SelfCheck.selfCheck>) {
  return (await import(/* webpackMode: "eager" */ './self-check')).selfCheck(...args);
}
export async function vmLifecycle(...args: Parameters<typeof Vm.vmLifecycle>) {
  return (await import(/* webpackMode: "eager" */ './vm')).vmLifecycle(...args);
}
export async function vmReconcile(...args: Parameters<typeof VmReconcile.vmReconcile>) {
  return (await import(/* webpackMode: "eager" */ './vm-reconcile')).vmReconcile(...args);
}
export async function accessUsageFlush(...args: Parameters<typeof AccessUsageFlush.accessUsageFlush>) {
  return (await import(/* webpackMode: "eager" */ './access-usage-flush')).accessUsageFlush(...args);
}
