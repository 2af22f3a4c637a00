import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadConfig } from '../lib/infra/config';

/**
 * A benchmark's own stack: the project built, then Postgres, Redis and Temporal started
 * afresh as the test stack of `slot` (TEST_STACK_SLOT wins when set), and the apps'
 * environment set, so that figures never mix with a user's stack or another benchmark's.
 * `stop` ends it; the caller starts the app parts it measures with `startAppPart`.
 */
export async function startIsolatedStack(slot: number, built: string) {
  process.env.TEST_STACK_SLOT ??= String(slot);
  // Imported after the slot is set: the settings read it.
  const { appEnv, stackSettings, startAppPart } = await import('../scripts/stack/parts');
  const { down, up } = await import('../scripts/stack/stack');
  const s = stackSettings('test');
  const say = (msg: string) => console.log(`[bench] ${msg}`);

  say(`building ${built} (tsc and workflow bundle)`);
  execFileSync('npm', ['run', '-s', 'build'], { cwd: s.root, stdio: ['ignore', 'ignore', 'inherit'] });
  await down(s);
  rmSync(s.dataDir, { recursive: true, force: true });
  say(`starting an isolated stack in ${s.dataDir}`);
  await up(s, { only: ['postgres', 'redis', 'temporal'], fresh: true });
  Object.assign(process.env, appEnv(s), { LOG_LEVEL: 'warn', LOG_PRETTY: 'false' });
  return {
    s,
    say,
    config: loadConfig(),
    startApp: (name: Parameters<typeof startAppPart>[1]) => startAppPart(s, name),
    stop: () => down(s),
  };
}
