import { rmSync } from 'node:fs';
import { down, up } from '../../scripts/stack/stack';
import { appEnv, infrastructure, stackSettings } from '../../scripts/stack/parts';
import bundle from './bundle';

/**
 * Starts the test stack (its own folder and ports, fresh data) for the integration
 * and end-to-end tests, and points the tests' configuration at it. Worker and API
 * processes are started by the tests that need them.
 */
export default async function stackUp(): Promise<void> {
  const s = stackSettings('test');
  await down(s);
  rmSync(s.dataDir, { recursive: true, force: true });
  await up(s, { only: infrastructure, fresh: true });
  Object.assign(process.env, appEnv(s), {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    LOG_PRETTY: 'false',
  });
  await bundle();
}
