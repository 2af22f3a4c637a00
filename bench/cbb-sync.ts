import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { createCbbClient } from '../activities/cbb/client';
import { cbbSweepWorkflowType, type CbbSweepWorkflow } from '../lib/cbb/contract';
import { runningPid, stopProcess } from '../scripts/stack/proc';
import { instanceName } from '../scripts/stack/services';
import { cbbAdminToken } from '../scripts/stack/secrets';
import { directCalls, emptyWorkflows } from './cbb-sync/direct';
import { peakRssMb, snapshot, usedBetween, type RoundUse, type StackPids } from './cbb-sync/measure';
import { formatSpread, pairedRounds, spreadOf } from './support/rounds';
import { isolatedStack } from './support/isolated-stack';

/**
 * `npm run bench -- cbb-sync [orders=10000] [concurrency=200] [--workers N] [--rounds R]
 * [--profile cpu|heap] [--worker-env KEY=VALUE]...`: pending orders swept through the real
 * stack (its own, in test slot 5 unless TEST_STACK_SLOT says otherwise) by N worker
 * processes, the local CBB server answering after 5 ms. Paired rounds (ABBA) of the
 * ceiling, as many empty workflows started eagerly on the same Temporal server at the same
 * concurrency, and of the sweep; it prints both rates, their ratio (median ± spread), the
 * CPU each process used per order and each worker's threads, the share of the syncs each
 * worker ran, and the workers' peak RSS; and, once, the same CBB calls made directly.
 * `--profile cpu` runs the workers under `--cpu-prof` (`--profile heap`: `--heap-prof`),
 * the profiles written into the stack's folder when they stop.
 */
export default async function bench(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const say = (m: string) => console.log(`[bench cbb-sync] ${m}`);
  const stack = await isolatedStack({
    slot: 5,
    // libvirtd too: a worker that cannot reach it spends a tenth of a core retrying its connection pool.
    only: ['postgres', 'redis', 'temporal', 'libvirtd', 'cbb'],
    build: 'the worker',
    say,
  });
  const { s, config } = stack;
  const pool = new Pool({ connectionString: config.database.url, max: 10 });
  const admin = (path: string, body: unknown) =>
    fetch(`http://127.0.0.1:${s.ports.cbb}/_admin${path}`, {
      method: path === '/faults' ? 'PUT' : 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${cbbAdminToken(s)}` },
      body: JSON.stringify(body),
    });
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection });
  const profileDir = join(s.dataDir, 'profiles');
  try {
    await admin('/faults', { latencyMs: 5 });
    say(`baseline: ${o.orders} orders' CBB calls made directly, ${o.concurrency} at a time`);
    const directMs = await directCalls(createCbbClient(config.cbb), o.orders, o.concurrency);
    const directRate = (o.orders / directMs) * 60_000;
    await admin('/reset', {});
    await admin('/faults', { latencyMs: 5 });

    const profileFlags = { cpu: '--cpu-prof', heap: '--heap-prof' } as const;
    if (o.profile) {
      rmSync(profileDir, { recursive: true, force: true });
      mkdirSync(profileDir, { recursive: true });
    }
    const pids: StackPids = {
      temporal: runningPid(s, 'temporal'),
      postgres: runningPid(s, 'postgres'),
      cbb: runningPid(s, 'cbb'),
      workers: [],
    };
    for (let instance = 1; instance <= o.workers; instance++) {
      say(`starting worker ${instance} of ${o.workers}`);
      const pid = await stack.startApp(
        'worker',
        {
          LOG_LEVEL: 'warn',
          DATABASE_POOL_MAX: '60',
          CBB_SWEEP_CONCURRENCY: String(o.concurrency),
          // The bench starts its own sweeps; the Schedule's would run beside them.
          CBB_SWEEP_EVERY: 'off',
          ...o.workerEnv,
        },
        { instance, nodeArgs: o.profile ? [profileFlags[o.profile], `--${o.profile}-prof-dir=${profileDir}`] : [] },
      );
      pids.workers.push({ pid, metricsPort: s.ports.workerMetrics + (instance === 1 ? 0 : instance) });
    }

    let nextId = 0;
    const uses: RoundUse[] = [];
    const result = await pairedRounds({
      rounds: o.rounds,
      baseline: async (round) => {
        const ms = await emptyWorkflows(config.temporal.address, o.orders, o.concurrency, String(round));
        return (o.orders / ms) * 60_000;
      },
      subject: async (round) => {
        const from = nextId;
        nextId += o.orders;
        await pool.query(
          `INSERT INTO orders (external_id, branch, customer_name, email, phone, whatsapp_alerts, visa_country, visa_type, visa_quantity, amount, currency)
           SELECT 'BENCH-' || g, 'IL', 'Bench Customer', 'bench' || g || '@example.com', '+97254' || lpad(g::text, 7, '0'), true, 'India', 'tourist', 1, 99, 'ILS'
           FROM generate_series($1::int + 1, $1::int + $2::int) g`,
          [from, o.orders],
        );
        const before = await snapshot(pids);
        const started = Date.now();
        await client.workflow.start<CbbSweepWorkflow>(cbbSweepWorkflowType, {
          taskQueue: config.temporal.taskQueue,
          workflowId: `cbb-sweep-bench-${round}`,
          args: [{ concurrency: o.concurrency }],
        });
        await untilDone(pool, nextId, say, started);
        const ms = Date.now() - started;
        uses.push(usedBetween(before, await snapshot(pids), o.orders));
        return (o.orders / ms) * 60_000;
      },
      onRound: (round, empty, sync) => {
        const u = uses.at(-1)!;
        say(
          `round ${round + 1}: empty ${Math.round(empty)}/min, syncs ${Math.round(sync)}/min (${(sync / empty).toFixed(2)}); ` +
            `CPU ms/order ${describe(u.cpuMs)}; shares ${u.shares.map(pct).join(' / ')}`,
        );
      },
    });

    const median = (pick: (u: RoundUse) => number) => spreadOf(uses.map(pick)).median;
    const cpuKeys = Object.keys(uses[0]!.cpuMs);
    const threadKeys = pids.workers.map((_, i) => {
      const names = new Set(uses.flatMap((u) => Object.keys(u.threadMs[i] ?? {})));
      return [...names].filter((n) => median((u) => u.threadMs[i]?.[n] ?? 0) >= 0.05);
    });
    const workerCpu = median((u) => cpuKeys.filter((k) => k.startsWith('worker')).reduce((a, k) => a + u.cpuMs[k]!, 0));
    console.log(`
cbb-sync: ${o.orders} orders a round, ${o.concurrency} at a time, ${o.workers} worker(s), CBB latency 5 ms, ${o.rounds} paired rounds
  syncs through Temporal   ${formatSpread(result.subject, 0)} orders/min
  empty workflows          ${formatSpread(result.baseline, 0)} /min: the ceiling of this server
  syncs / ceiling          ${formatSpread(result.ratio)}  (target >= 0.7)
  direct CBB calls         ${Math.round(directRate)} orders/min (once; syncs / direct ${(result.subject.median / directRate).toFixed(3)})
  CPU per order, ms        ${cpuKeys.map((k) => `${k} ${median((u) => u.cpuMs[k]!).toFixed(1)}`).join(', ')}
  workers' CPU / server's  ${(workerCpu / median((u) => u.cpuMs.temporal!)).toFixed(2)}  (target <= 1)`);
    pids.workers.forEach((_, i) => {
      const threads = threadKeys[i]!.map((n) => `${n} ${median((u) => u.threadMs[i]?.[n] ?? 0).toFixed(1)}`);
      console.log(`  worker ${i + 1} threads, ms    ${threads.join(', ')}`);
    });
    console.log(`  share of syncs           ${pids.workers.map((_, i) => `worker ${i + 1} ${formatSpread(spreadOf(uses.map((u) => u.shares[i]!)))}`).join(', ')}
  worker peak RSS, MB      ${peakRssMb(pids).join(', ')}  (target <= 450)`);
  } finally {
    await Promise.allSettled([pool.end(), connection.close()]);
    if (o.profile) {
      // The profiles are written as the workers exit.
      for (let instance = o.workers; instance >= 1; instance--) {
        await stopProcess(s, instanceName({ name: 'worker' }, instance), { graceMs: 60_000 });
      }
      say(`profiles in ${profileDir}`);
    }
    await stack.stop();
  }
}

async function untilDone(pool: Pool, total: number, say: (m: string) => void, started: number): Promise<void> {
  let lastReport = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const { rows } = await pool.query(
      "SELECT count(*)::int AS n FROM orders WHERE cbb_status = 'synced' AND whatsapp_status <> 'pending'",
    );
    const done: number = rows[0].n;
    if (done >= total) return;
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      say(`  ${done} of ${total} done after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    if (Date.now() - started > 30 * 60_000) throw new Error(`only ${done} of ${total} orders done after 30 minutes`);
  }
}

const pct = (x: number) => `${Math.round(x * 100)} %`;
const describe = (ms: Record<string, number>) =>
  Object.entries(ms)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');

interface Options {
  orders: number;
  concurrency: number;
  workers: number;
  rounds: number;
  profile?: 'cpu' | 'heap';
  workerEnv: Record<string, string>;
}

function parseArgs(args: string[]): Options {
  const positional: string[] = [];
  const o: Options = { orders: 10_000, concurrency: 200, workers: 1, rounds: 3, workerEnv: {} };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--workers') o.workers = Number(value());
    else if (a === '--rounds') o.rounds = Number(value());
    else if (a === '--profile') {
      const p = value();
      if (p !== 'cpu' && p !== 'heap') throw new Error(`--profile is cpu or heap, got ${p}`);
      o.profile = p;
    } else if (a === '--worker-env') {
      const [k, ...v] = value().split('=');
      if (!k || v.length === 0) throw new Error(`--worker-env takes KEY=VALUE, got ${args[i]}`);
      o.workerEnv[k] = v.join('=');
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional[0]) o.orders = Number(positional[0]);
  if (positional[1]) o.concurrency = Number(positional[1]);
  for (const [k, v] of Object.entries({ orders: o.orders, concurrency: o.concurrency, rounds: o.rounds }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a whole number of at least 1, got ${v}`);
  if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 9)
    throw new Error(`--workers must be a whole number from 1 to 9, got ${o.workers}`);
  return o;
}
