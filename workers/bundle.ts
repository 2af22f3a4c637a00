import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The workflow code a worker loads: the prebuilt bundle in production, the sources otherwise. */
export const bundlePath = join(__dirname, '..', 'workflow-bundle.js');
export const workflowsPath = require.resolve('../workflows');
export const workflowInterceptorModules = [require.resolve('../workflows/interceptors')];

/** A bundle already holds the interceptor modules; sources need them named. */
export function workflowSource():
  { workflowBundle: { codePath: string } } | { workflowsPath: string; workflowModules: string[] } {
  return existsSync(bundlePath)
    ? { workflowBundle: { codePath: bundlePath } }
    : { workflowsPath, workflowModules: workflowInterceptorModules };
}
