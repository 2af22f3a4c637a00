import { join } from 'node:path';
import { projectRoot, stackSettings } from '../../scripts/stack/settings';

export const testBundlePath = join(stackSettings('test').dataDir + '-bundle', 'workflow-bundle.js');
export const testServerPath = join(projectRoot, '.venv', 'bin', 'temporal-test-server');
export { projectRoot };
export const historiesDir = join(projectRoot, 'test', 'histories');
