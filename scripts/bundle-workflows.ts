import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundlePathOf, workerRoles, workflowInterceptorModules, workflowsPathOf } from '../workers/bundle';

/** Pre-bundles each worker's workflow code at build time so a production worker starts without webpack. */
async function main() {
  for (const role of workerRoles) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: workflowsPathOf(role),
      workflowInterceptorModules,
      logger: quiet,
    });
    writeFileSync(bundlePathOf(role), code);
    console.log(`${role} workflow bundle written to ${bundlePathOf(role)} (${(code.length / 1024).toFixed(0)} KiB)`);
  }
}

const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error };

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
