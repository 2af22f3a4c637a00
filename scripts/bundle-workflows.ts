import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundlePath, workflowInterceptorModules, workflowsPath } from '../workers/bundle';

/** Pre-bundles the workflow code at build time so a production worker starts without webpack. */
async function main() {
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger: quiet });
  writeFileSync(bundlePath, code);
  console.log(`workflow bundle written to ${bundlePath} (${(code.length / 1024).toFixed(0)} KiB)`);
}

const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error };

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
