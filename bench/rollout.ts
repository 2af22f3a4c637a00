import { spawn } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Client, Connection } from '@temporalio/client';
import { createPool } from '../lib/infra/db';
import { createRedis } from '../lib/infra/redis';
import { status } from '../lib/rollout/contract';
import type { RolloutSpecInput } from '../lib/rollout/spec';
import { quantile } from '../lib/rollout/stats';
import { createRolloutClient } from '../scripts/rollout/sdk';
import { sleep } from '../scripts/stack/proc';
import { readFlag } from '../store/rollout/flags';
import { isolatedStack } from './support/isolated-stack';
import { formatSpread, pairedRounds, spreadOf } from './support/rounds';

/**
 * `npm run bench -- rollout [rollouts=5] [flagRounds=7] [seconds=4]`: on an isolated stack
 * of its own (test slot 7 unless TEST_STACK_SLOT says otherwise), with the built worker
 * and API as in production:
 *
 * 1. Reaction: a canary at 50 % through a feature flag, judged by the built-in metrics every
 *    2 s, turns bad (every request an error, reported through the SDK). Measured: from the
 *    first failing measurement to the flag at weight 0, and from the moment the canary
 *    turned bad (target: at most one analysis interval + 1 s).
 * 2. The flag evaluation endpoint (`POST /api/v1/flags/:key/evaluate`: the whole API stack,
 *    Redis, sticky hashing) against a bare Express handler answering the same shape, both
 *    driven by autocannon: after a warm-up of each, `flagRounds` paired rounds (ABBA) of
 *    `seconds` per arm; req/s and p95, and the ratio of req/s as the median of the rounds
 *    ± half their range (target: ≥ 0.8).
 */

const intervalMs = 2000;

export default async function bench(args: string[]): Promise<void> {
  const [rounds = 5, flagRounds = 7, seconds = 4] = args.map(Number);
  for (const [what, v] of Object.entries({ rounds, flagRounds, seconds }))
    if (!(v > 0)) throw new Error(`${what} must be a positive number, got ${v}`);
  const say = (msg: string) => console.log(`[bench] ${msg}`);
  const stack = await isolatedStack({
    slot: 7,
    only: ['postgres', 'redis', 'temporal'],
    build: 'the worker and the API',
    say,
  });
  const { s, config } = stack;
  await stack.startApp('worker');
  await stack.startApp('api');
  const apiUrl = `http://127.0.0.1:${s.ports.api}`;
  const pool = createPool(config, undefined, 'bench');
  const redis = createRedis(config);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const bare = spawn(
    process.execPath,
    ['--import', 'tsx', join(s.root, 'bench', 'servers', 'bare-express.ts'), String(s.ports.api + 1)],
    {
      cwd: s.root,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    const reactions = [];
    for (let i = 0; i < rounds; i++) {
      reactions.push(await reaction(`bench-${i}-${Date.now().toString(36)}`));
      const r = reactions.at(-1)!;
      say(
        `round ${i + 1}: first bad measurement → weight 0 ${r.fromMeasurement} ms, canary turned bad → weight 0 ${r.fromFlip} ms`,
      );
    }
    await waitHttp(`http://127.0.0.1:${s.ports.api + 1}/api/v1/flags/x/evaluate`);
    await fetch(`${apiUrl}/api/v1/flags/bench-flag`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ weight: 30, groups: ['beta_users'] }),
    });
    const bareUrl = `http://127.0.0.1:${s.ports.api + 1}/api/v1/flags/bench-flag/evaluate`;
    const flagUrl = `${apiUrl}/api/v1/flags/bench-flag/evaluate`;
    say(`flag evaluation against bare Express: warm-up of 2 s each, then ${flagRounds} rounds of ${seconds} s each`);
    await load(bareUrl, 2);
    await load(flagUrl, 2);
    const p95s: Record<'bare' | 'flag', number[]> = { bare: [], flag: [] };
    const measured = (arm: 'bare' | 'flag', url: string) => async () => {
      const f = await load(url, seconds);
      p95s[arm].push(f.p95);
      return f.rps;
    };
    const flags = await pairedRounds({
      rounds: flagRounds,
      baseline: measured('bare', bareUrl),
      subject: measured('flag', flagUrl),
      onRound: (r, b, f) =>
        say(`round ${r + 1}: bare ${fmt(b)} req/s, evaluation ${fmt(f)} req/s, ${(f / b).toFixed(2)}`),
    });
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const fromMeasurement = reactions.map((r) => r.fromMeasurement);
    const fromFlip = reactions.map((r) => r.fromFlip);
    const rps = (arm: 'bare' | 'flag') => {
      const x = arm === 'bare' ? flags.baseline : flags.subject;
      return `${fmt(x.median)} req/s ±${Math.round(x.spread * 100)} %, p95 ${spreadOf(p95s[arm]).median.toFixed(2)} ms`;
    };
    console.log(`
rollout benchmark (${rounds} rollouts; analysis interval ${intervalMs / 1000} s; built worker and API on an isolated stack)
  first bad measurement → weight 0     median ${median(fromMeasurement)} ms, max ${Math.max(...fromMeasurement)} ms
  canary turned bad → weight 0         median ${median(fromFlip)} ms, max ${Math.max(...fromFlip)} ms  (target <= ${intervalMs + 1000} ms)
  flag evaluation endpoint             ${rps('flag')}  (auth, zod, flag cache kept fresh by Redis pub/sub, sticky hash)
  bare Express handler                 ${rps('bare')}
  evaluation / bare                    ${formatSpread(flags.ratio)} of its req/s, ${seconds} s a round (target >= 0.8)`);
  } finally {
    bare.kill('SIGTERM');
    await Promise.allSettled([pool.end(), redis.quit(), connection.close()]);
    await stack.stop();
  }

  /** One rollout turned bad at 50 %: how long until the flag is at 0. */
  async function reaction(target: string) {
    const spec: RolloutSpecInput = {
      target,
      traffic: { controller: 'flag' },
      steps: [{ setWeight: 50 }, { pause: { duration: '10m' } }],
      templates: [
        {
          name: 'default',
          metrics: [
            {
              name: 'error-rate',
              provider: { type: 'builtin', measure: 'errorRate' },
              interval: `${intervalMs / 1000}s`,
              window: '10s',
              successCondition: { max: 0.05 },
              inconclusiveLimit: 10,
            },
          ],
        },
      ],
      rollbackWindow: '0s',
    };
    const res = await fetch(`${apiUrl}/api/v1/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    const { id, runId } = (await res.json()) as { id: string; runId: string };
    if (res.status !== 201) throw new Error(`could not start a rollout: HTTP ${res.status}`);
    const sdk = createRolloutClient({ baseUrl: apiUrl, flushEveryMs: 50 });
    let bad = false;
    const traffic = setInterval(() => {
      for (let i = 0; i < 10; i++) {
        sdk.report(target, 'baseline', { ok: true, latencyMs: 20 });
        sdk.report(target, 'canary', { ok: !bad, latencyMs: 20 });
      }
    }, 50);
    try {
      const handle = client.workflow.getHandle(id);
      for (const deadline = Date.now() + 60_000; ;) {
        const st = await handle.query(status);
        if (st.phase === 'paused' && (st.background?.metrics[0]?.passed ?? 0) >= 2) break;
        if (Date.now() > deadline) throw new Error(`${id} did not pass two measurements at 50 % within 60 s`);
        await sleep(50);
      }
      bad = true;
      const flippedAt = Date.now();
      for (const deadline = Date.now() + 30_000; (await readFlag(redis, target))?.weight !== 0;) {
        if (Date.now() > deadline) throw new Error(`${id} did not reach weight 0 within 30 s of turning bad`);
        await sleep(2);
      }
      const zeroAt = Date.now();
      const { rows } = await pool.query(
        `SELECT extract(epoch FROM at) * 1000 AS at FROM rollout_events
         WHERE rollout_id = $1 AND kind = 'measurement' AND verdict = 'fail' ORDER BY seq LIMIT 1`,
        [runId],
      );
      await handle.terminate('benchmark round over');
      return { fromMeasurement: Math.round(zeroAt - Number(rows[0].at)), fromFlip: zeroAt - flippedAt };
    } finally {
      clearInterval(traffic);
      await sdk.close();
    }
  }
}

interface Figures {
  rps: number;
  p95: number;
}

/** autocannon for `seconds`; p95 from every response's time (autocannon's own summary has no p95). */
async function load(url: string, seconds: number): Promise<Figures> {
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ subject: { id: 'user-42', groups: ['staff'] } }),
        connections: 16,
        duration: seconds,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors under load`);
  }
  // Every answer over the whole run: a mean of per-second samples would drop the last part second.
  return { rps: result.requests.total / result.duration, p95: Number(quantile(times, 0.95).toFixed(2)) };
}

async function waitHttp(url: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; ;) {
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
      .then(() => true)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within 30 s`);
    await sleep(100);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
