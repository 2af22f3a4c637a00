import { join } from 'node:path';
import { projectRoot } from '../../scripts/stack/settings';

export const testBundlePath = join(projectRoot, '.data', 'test-bundle', 'workflow-bundle.js');
export const testServerPath = join(projectRoot, '.venv', 'bin', 'temporal-test-server');
export const historiesDir = join(projectRoot, 'test', 'histories');
