import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowInterceptorModules, workflowsPath } from '../../workers/bundle';
import { testBundlePath } from '../helpers/paths';

/** Bundles the workflow sources once per test run; every workflow test's worker loads this file. */
export default async function bundle(): Promise<void> {
  const noop = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules,
    logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error },
  });
  mkdirSync(dirname(testBundlePath), { recursive: true });
  writeFileSync(testBundlePath, code);
}
