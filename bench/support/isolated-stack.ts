import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadConfig, type Config } from '../../lib/infra/config';
import type { AppName, PartName } from '../../scripts/stack/parts';
import type { StackSettings } from '../../scripts/stack/settings';

export interface IsolatedStack {
  s: StackSettings;
  /** The configuration of this process, pointed at the stack. */
  config: Config;
  /** Starts an app part; `instance` 2 and up starts another process of it (`worker-2`, its own metrics port). */
  startApp(name: AppName, env?: NodeJS.ProcessEnv, opts?: { instance?: number; nodeArgs?: string[] }): Promise<number>;
  /** Stops every part, unless KEEP_BENCH_STACK is set (to look at the stack after a run). */
  stop(): Promise<void>;
}

/**
 * A stack of a benchmark's own: the test profile in `slot` unless TEST_STACK_SLOT says
 * otherwise, so a benchmark never meets the local stack or another benchmark's data.
 * Builds first when `build` names what runs built (the worker and API start from dist/),
 * clears the slot's folder, starts `only` afresh, and points this process's environment
 * at the stack, quietly (warnings only), so what it creates reads the same settings.
 */
export async function isolatedStack(opts: {
  slot: number;
  only: readonly PartName[] | 'infrastructure';
  build?: string;
  say: (msg: string) => void;
}): Promise<IsolatedStack> {
  process.env.TEST_STACK_SLOT ??= String(opts.slot);
  // Imported after the slot is set: the settings read it.
  const { appEnv, infrastructure, stackSettings, startAppPart } = await import('../../scripts/stack/parts');
  const { down, up } = await import('../../scripts/stack/stack');
  const s = stackSettings('test');
  if (opts.build) {
    opts.say(`building ${opts.build} (tsc and the workflow bundle)`);
    execFileSync('npm', ['run', '-s', 'build'], { cwd: s.root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  await down(s);
  rmSync(s.dataDir, { recursive: true, force: true });
  opts.say(`starting an isolated stack in ${s.dataDir}`);
  await up(s, { only: opts.only === 'infrastructure' ? infrastructure : [...opts.only], fresh: true });
  Object.assign(process.env, appEnv(s), { LOG_LEVEL: 'warn', LOG_PRETTY: 'false' });
  return {
    s,
    config: loadConfig(),
    startApp: (name, env, startOpts) => startAppPart(s, name, env, startOpts),
    async stop() {
      if (process.env.KEEP_BENCH_STACK) return opts.say(`KEEP_BENCH_STACK: the stack in ${s.dataDir} stays up`);
      opts.say('stopping the isolated stack');
      await down(s);
    },
  };
}
