import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The workers, each registering only its own processes' workflows. */
export type WorkerRole = 'orchestrator' | 'hmm';
export const workerRoles: readonly WorkerRole[] = ['orchestrator', 'hmm'];

/** Every workflow type, as the tests load them. */
export const workflowsPath = require.resolve('../workflows');
export const workflowInterceptorModules = [require.resolve('../workflows/interceptors')];

/** The module that exports a worker's workflow types (workflows/<role>-worker.ts). */
export const workflowsPathOf = (role: WorkerRole) => require.resolve(`../workflows/${role}-worker`);
/** The prebuilt bundle of a worker's workflows, written by `npm run build`. */
export const bundlePathOf = (role: WorkerRole) => join(__dirname, '..', `workflow-bundle.${role}.js`);

/** The workflow code a worker loads: its prebuilt bundle in production, its sources otherwise. */
export function workflowSource(
  role: WorkerRole,
): { workflowBundle: { codePath: string } } | { workflowsPath: string; workflowModules: string[] } {
  const bundlePath = bundlePathOf(role);
  return existsSync(bundlePath)
    ? { workflowBundle: { codePath: bundlePath } }
    : { workflowsPath: workflowsPathOf(role), workflowModules: workflowInterceptorModules };
}
