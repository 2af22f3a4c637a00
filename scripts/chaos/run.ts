import { loadConfig } from '../../lib/infra/config';
import { createPool } from '../../lib/infra/db';
import { createRng } from '../../lib/hmm/prng';
import { createRedis } from '../../lib/infra/redis';
import { anyApiKey, createApiKey, revokeApiKey } from '../../store/access/api-keys';
import { appEnv, stackSettings, type PartName } from '../stack/parts';
import { killProcess, runningPid } from '../stack/proc';
import type { Profile } from '../stack/settings';
import { startSupervisor, status, stopSupervisor, up } from '../stack/stack';
import { supervisorName } from '../stack/supervisor-state';
import { chaosClient } from './client';
import { invariant, outageInvariants, report, type Invariant } from './invariants';
import type { ChaosLoad, LoadContext } from './load';
import { batchMigrationLoad } from './loads/batch-migration';
import { cbbLoad } from './loads/cbb';
import { hmmLoad } from './loads/hmm';
import { probeLoad } from './loads/probe';
import { rolloutLoad } from './loads/rollout';
import { vmLoad } from './loads/vm';
import { killSchedule, type Kill } from './schedule';

/** The parts a chaos run kills unless told otherwise: every process the stack runs but Prometheus. */
export const defaultVictims: PartName[] = [
  'temporal',
  'redis',
  'api',
  'hmm-worker',
  'cbb',
  'postgres',
  'libvirtd',
  'worker',
];

export const allLoads = {
  cbb: cbbLoad,
  'batch-migration': batchMigrationLoad,
  rollout: rolloutLoad,
  vm: vmLoad,
  hmm: hmmLoad,
  probe: probeLoad,
} as const satisfies Record<string, () => ChaosLoad>;
export type LoadName = keyof typeof allLoads;

export interface ChaosOptions {
  profile: Profile;
  seed: number;
  windowMs: number;
  killEveryMs: number;
  victims?: PartName[];
  loads?: LoadName[];
  scale?: number;
  say?: (msg: string) => void;
}

export interface ChaosResult {
  kills: (Kill & { pid?: number })[];
  invariants: Invariant[];
  report: string;
  held: boolean;
}

const stepEveryMs = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One chaos run: every process under load through the API, the seeded kill schedule
 * carried out with SIGKILL while the stack's supervisor brings each part back as it would
 * after a crash, then, once the parts are back and the work has ended, every invariant
 * checked. The run leaves the stack as it found it: its machines deleted, its gated
 * rollout aborted, its API key revoked, the sweep Schedule paused again if it was, a
 * supervisor it started stopped.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const say = o.say ?? ((msg: string) => console.log(`[chaos] ${msg}`));
  const s = stackSettings(o.profile);
  const victims = o.victims ?? defaultVictims;
  const kills = killSchedule({ seed: o.seed, durationMs: o.windowMs, killEveryMs: o.killEveryMs, parts: victims });
  say(
    `seed ${o.seed}: ${kills.length} kills over ${o.windowMs / 1000} s: ${kills.map((k) => `${k.atMs / 1000}s ${k.part}`).join(', ')}`,
  );

  await ensureRunning(s, o.profile, say);
  const ownSupervisor = runningPid(s, supervisorName) === undefined;
  await startSupervisor(s);

  const config = loadConfig({ ...process.env, ...appEnv(s), LOG_LEVEL: 'warn', LOG_PRETTY: 'false' });
  const pool = createPool(config, undefined, 'chaos');
  const redis = createRedis(config);
  const tag = `chaos-${o.seed}-${Date.now().toString(36)}`;
  // An API still open (no key was ever made) stays open: making a key would close it for its users.
  const key = (await anyApiKey(pool))
    ? await createApiKey(pool, { name: tag, scopes: ['*'], tier: 'enterprise' })
    : undefined;
  const apiUrl = `http://127.0.0.1:${s.ports.api}`;
  const api = chaosClient(apiUrl, key?.key, config.api.deadlineMs * 5);
  const ctx: LoadContext = {
    s,
    api,
    apiUrl,
    apiKey: key?.key,
    pool,
    redis,
    tag,
    rng: createRng(o.seed),
    scale: o.scale ?? 1,
    windowMs: o.windowMs,
    say,
  };
  const loads = (o.loads ?? (Object.keys(allLoads) as LoadName[])).map((name) => allLoads[name]());
  const restartsBefore = new Map((await status(s)).map((p) => [p.name, p.restarts]));
  const done: ChaosResult['kills'] = [];
  try {
    for (const load of loads) {
      say(`starting the ${load.name} load`);
      await load.start(ctx);
    }
    const t0 = Date.now();
    say('the chaos window opens');
    const killing = (async () => {
      for (const k of kills) {
        await sleep(Math.max(0, t0 + k.atMs - Date.now()));
        const pid = killProcess(s, k.part);
        done.push({ ...k, pid });
        say(`${(k.atMs / 1000).toFixed(0)}s: SIGKILL ${k.part}${pid ? ` (pid ${pid})` : ' (it was not running)'}`);
      }
    })();
    // Each load steps on its own: one waiting out an outage does not hold the others' traffic back.
    const stepping = new Map<ChaosLoad, Promise<void>>();
    while (Date.now() - t0 < o.windowMs) {
      for (const l of loads) {
        if (!l.step || stepping.has(l)) continue;
        const step = l
          .step(ctx, Date.now() - t0)
          .catch((err: Error) => say(`${l.name}: ${err.message}`))
          .finally(() => stepping.delete(l));
        stepping.set(l, step);
      }
      await sleep(stepEveryMs);
    }
    await Promise.all([killing, ...stepping.values()]);
    say('the chaos window closes; waiting for every part to be back');
    const back = await everyPartBack(s);
    say(
      `every part back ${((Date.now() - t0 - o.windowMs) / 1000).toFixed(0)} s after the window; settling: waiting for the work to end`,
    );
    const settling = Date.now();
    await Promise.all(loads.map((l) => l.settle(ctx)));
    say(`the work ended ${((Date.now() - settling) / 1000).toFixed(0)} s later; checking`);
    const invariants: Invariant[] = [];
    const restarts = new Map((await status(s)).map((p) => [p.name, p.restarts]));
    const unrestarted = victims.filter(
      (v) => done.some((k) => k.part === v && k.pid) && (restarts.get(v) ?? 0) <= (restartsBefore.get(v) ?? 0),
    );
    invariants.push(
      invariant(
        'every killed part came back, restarted by the supervisor',
        back.length === 0 && unrestarted.length === 0,
        victims
          .map(
            (v) =>
              `${v} killed ${done.filter((k) => k.part === v && k.pid).length}×, restarted ${(restarts.get(v) ?? 0) - (restartsBefore.get(v) ?? 0)}×`,
          )
          .join(', ') + (back.length ? `; not ready: ${back.join(', ')}` : ''),
      ),
    );
    for (const load of loads) invariants.push(...(await load.check(ctx)));
    invariants.push(...outageInvariants(api.answers, config.api.deadlineMs));
    const text = report(invariants);
    return { kills: done, invariants, report: text, held: invariants.every((i) => i.held) };
  } finally {
    for (const load of loads) await load.stop?.(ctx).catch(() => undefined);
    if (key) await revokeApiKey(pool, redis, key.record.prefix).catch(() => undefined);
    if (ownSupervisor && o.profile === 'test') await stopSupervisor(s);
    await Promise.allSettled([pool.end(), redis.quit()]);
  }
}

/** The local stack must be up already (`npm run up`); the test stack's parts that are not are started here. */
async function ensureRunning(s: ReturnType<typeof stackSettings>, profile: Profile, say: (msg: string) => void) {
  const rows = await status(s);
  const down = rows.filter((r) => !r.ready).map((r) => r.name);
  if (profile === 'local' && down.length > 0)
    throw new Error(`the stack is not up (${down.join(', ')} not ready): start it with npm run up`);
  if (down.length > 0) {
    say(`starting ${down.join(', ')}`);
    await up(s, { only: down });
  }
  const still = (await status(s)).filter((r) => !r.ready).map((r) => r.name);
  if (still.length > 0) throw new Error(`the test stack is not ready: ${still.join(', ')}`);
}

/** Waits up to three minutes for every part to be ready again; the names of those that are not. */
async function everyPartBack(s: ReturnType<typeof stackSettings>): Promise<string[]> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const notReady = (await status(s)).filter((r) => !r.ready).map((r) => r.name);
    if (notReady.length === 0 || Date.now() > deadline) return notReady;
    await sleep(1000);
  }
}
