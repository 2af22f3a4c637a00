import { createLogger } from '../../lib/infra/logger';
import { partNames, stackSettings } from './parts';
import { sleep } from './proc';
import { testSlot } from './settings';
import { startPart } from './stack';
import { createSupervisor } from './supervisor';

/**
 * The stack's supervisor process: `up` starts it after the parts, `down` stops it before
 * them. Arguments: the profile (`local` or `test`), then the parts to watch (all by default).
 *
 * Why a process of our own rather than pm2 or systemd units: the parts are already started,
 * stopped and probed by the stack's one table (scripts/stack/parts.ts); a supervisor that
 * reuses those starts and readiness probes is a few dozen lines, where pm2 would bring a
 * daemon and a second notion of each part. The parts stay detached in their own process
 * groups, so a supervisor that dies takes nothing down with it.
 */
async function main(): Promise<void> {
  const [profile = 'local', ...only] = process.argv.slice(2);
  if (profile !== 'local' && profile !== 'test') throw new Error(`profile must be local or test, got ${profile}`);
  if (profile === 'test') testSlot();
  const s = stackSettings(profile);
  const unknown = only.filter((n) => !(partNames as string[]).includes(n));
  if (unknown.length > 0) throw new Error(`no stack part named ${unknown.join(', ')}`);
  const log = createLogger({ log: { level: 'info', pretty: false } }, 'supervisor');
  const supervisor = createSupervisor(s, {
    parts: only.length > 0 ? only : partNames,
    start: (name) => startPart(s, name as (typeof partNames)[number]),
    log,
  });
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => (stopping = true));
  log.info({ parts: only.length > 0 ? only : partNames }, 'supervising');
  // A look twice a second: a dead part is noticed well within its first backoff (1 s).
  while (!stopping) {
    await supervisor.tick();
    await sleep(500);
  }
  log.info('supervisor stopped');
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`supervisor failed: ${err.message}`);
    process.exit(1);
  },
);
