import { join } from 'node:path';
import { projectRoot } from '../../scripts/stack/settings';
import { stackSettings } from '../../scripts/stack/parts';

export const testBundlePath = join(stackSettings('test').dataDir + '-bundle', 'workflow-bundle.js');
export const testServerPath = join(projectRoot, '.venv', 'bin', 'temporal-test-server');
export { projectRoot };
export const historiesDir = join(projectRoot, 'test', 'histories');
