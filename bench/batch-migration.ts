import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { applyForward } from '../activities/batch-migration/batch-sql';
import { createPool, type Pool } from '../lib/infra/db';
import { getMigrationDefinition } from '../lib/batch-migration/registry';
import { riskScoreSql } from '../lib/batch-migration/trades-risk-score';
import { createRun, updateRun } from '../store/batch-migration/runs';
import { seedTrades } from '../store/batch-migration/seed-trades';
import { startRun } from '../store/batch-migration/start';
import { runningPid, sleep } from '../scripts/stack/proc';
import { isolatedStack } from './support/isolated-stack';
import { formatSpread, pairedRounds, spreadOf, type Spread } from './support/rounds';

/**
 * `npm run bench -- batch-migration [rows] [--rounds N] [--workers 1|2]`: on an isolated
 * stack of its own (test slot 6 unless TEST_STACK_SLOT says otherwise), recomputes
 * trades.risk_score over a million rows, in paired rounds (bench/support/rounds.ts):
 *
 * - baselines: one `UPDATE` of the whole table (saves nothing), and one statement that
 *   also saves the originals for a reverse run the way the workflow does (the workflow's
 *   own batch statement over the whole table as a single batch, recorded under a run);
 * - subjects: the batchMigration workflow with 1 and with 2 partitions.
 *
 * A round seeds the table afresh before each arm and runs the baselines, then the subjects
 * (the other way round on odd rounds). Then the same with a second worker process, the
 * worker's peak RSS (VmHWM), and the seed's OFFSET loop, sampled once.
 */
export default async function bench(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { rounds: { type: 'string', default: '3' }, workers: { type: 'string', default: '2' } },
  });
  const rows = Number(positionals[0] ?? 1_000_000);
  const rounds = Number(values.rounds);
  const workers = Number(values.workers);
  if (!Number.isInteger(rows) || rows < 10_000)
    throw new Error(`rows must be a whole number ≥ 10000, got ${positionals[0]}`);
  if (![1, 2].includes(workers)) throw new Error(`--workers must be 1 or 2, got ${values.workers}`);
  const say = (msg: string) => console.log(`[bench] ${msg}`);
  // libvirtd too: the worker hosts the VM process, whose connection pool, without its daemon,
  // retries in a loop that churns the worker's heap (hundreds of MB of garbage over a run)
  // and takes CPU from Postgres. A deployed worker has its libvirt.
  const stack = await isolatedStack({
    slot: 6,
    only: ['postgres', 'redis', 'temporal', 'libvirtd'],
    build: 'the worker',
    say,
  });
  const { s, config } = stack;
  const pool = createPool(config, undefined, 'bench');
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const taskQueue = config.temporal.taskQueue;
  try {
    const workerPid = await stack.startApp('worker');
    const one = await measure({ pool, client, taskQueue, rows, rounds, say, label: '1 worker' });
    const rss1 = peakRssMb(runningPid(s, 'worker') ?? workerPid);
    let two: Measured | undefined;
    let rss2: number[] = [];
    if (workers === 2) {
      const secondPid = await stack.startApp('worker', {}, { instance: 2 });
      two = await measure({ pool, client, taskQueue, rows, rounds, say, label: '2 workers' });
      rss2 = [peakRssMb(runningPid(s, 'worker') ?? workerPid), peakRssMb(runningPid(s, 'worker-2') ?? secondPid)];
    }
    await seedTrades(pool, rows);
    const offset = await offsetBatching(pool, rows);

    console.log(`
batch-migration benchmark: ${rows.toLocaleString('en-US')} trades, trades-risk-score, batch size from 5000 aiming at 500 ms a batch; median ±spread of ${rounds} paired rounds`);
    report(one, '1 worker process');
    console.log(`  worker peak RSS (VmHWM)                    ${rss1} MB  (target < 300)`);
    if (two) {
      report(two, '2 worker processes');
      console.log(`  worker peak RSS (VmHWM), each              ${rss2.join(' MB, ')} MB  (target < 300)`);
    } else {
      console.log('  (2 worker processes: skipped, --workers 1)');
    }
    const oneP = one.subjects.partitions1.median;
    console.log(
      `  OFFSET batching (seed loop, sampled once)  ${fmt(offset)} rows/s; 1 partition / OFFSET ${(oneP / offset).toFixed(1)} (target ≥ 10)`,
    );
  } finally {
    await Promise.allSettled([pool.end(), connection.close()]);
    await stack.stop();
  }
}

interface Measured {
  baselines: { plain: Spread; saving: Spread };
  subjects: { partitions1: Spread; partitions2: Spread };
  ratios: Record<string, Spread>;
  runs: RunFigures[];
}

interface RunFigures {
  partitions: number;
  rate: number;
  batches: number;
  largest: number;
  verified: boolean;
}

async function measure(opts: {
  pool: Pool;
  client: Client;
  taskQueue: string;
  rows: number;
  rounds: number;
  label: string;
  say: (msg: string) => void;
}): Promise<Measured> {
  const { pool, rows, say, label } = opts;
  const plain: number[] = [];
  const saving: number[] = [];
  const p1: number[] = [];
  const p2: number[] = [];
  const runs: RunFigures[] = [];
  const workflow = async (partitions: number) => {
    await seedTrades(pool, rows);
    const r = await workflowRun(opts.client, pool, opts.taskQueue, partitions);
    if (!r.verified) throw new Error(`the ${partitions}-partition run did not verify`);
    runs.push(r);
    return r.rate;
  };
  // Within a group the order alternates too, so neither arm always runs first on a fresh seed.
  const both = async (round: number, a: () => Promise<number>, b: () => Promise<number>) => {
    if (round % 2 === 0) return [await a(), await b()];
    const second = await b();
    return [await a(), second];
  };
  await pairedRounds({
    rounds: opts.rounds,
    baseline: async (round) => {
      const [x, y] = await both(
        round,
        async () => (await seedTrades(pool, rows), singleUpdate(pool, rows)),
        async () => (await seedTrades(pool, rows), singleSavingOriginals(pool, rows)),
      );
      plain.push(x);
      saving.push(y);
      return y;
    },
    subject: async (round) => {
      const [x, y] = await both(
        round,
        () => workflow(1),
        () => workflow(2),
      );
      p1.push(x);
      p2.push(y);
      return x;
    },
    onRound: (round) =>
      say(
        `${label}, round ${round + 1}: UPDATE ${fmt(plain[round])}, saving originals ${fmt(saving[round])}, 1 partition ${fmt(p1[round])}, 2 partitions ${fmt(p2[round])} rows/s`,
      ),
  });
  const ratio = (a: number[], b: number[]) => spreadOf(a.map((v, i) => v / b[i]));
  return {
    baselines: { plain: spreadOf(plain), saving: spreadOf(saving) },
    subjects: { partitions1: spreadOf(p1), partitions2: spreadOf(p2) },
    ratios: {
      p1Saving: ratio(p1, saving),
      p1Plain: ratio(p1, plain),
      p2Saving: ratio(p2, saving),
      p2Plain: ratio(p2, plain),
      p2p1: ratio(p2, p1),
      savingPlain: ratio(saving, plain),
    },
    runs,
  };
}

function report(m: Measured, label: string): void {
  const rate = (sp: Spread) => `${fmt(sp.median)} rows/s ±${Math.round(sp.spread * 100)} %`;
  const largest = (partitions: number) =>
    Math.max(...m.runs.filter((r) => r.partitions === partitions).map((r) => r.largest));
  const batches = (partitions: number) =>
    spreadOf(m.runs.filter((r) => r.partitions === partitions).map((r) => r.batches)).median;
  console.log(`  ${label}:
    single UPDATE (saves nothing)            ${rate(m.baselines.plain)}
    single statement saving originals        ${rate(m.baselines.saving)}  (${formatSpread(m.ratios.savingPlain)} of the UPDATE)
    workflow, 1 partition                    ${rate(m.subjects.partitions1)}  (median ${batches(1)} batches, largest ${fmt(largest(1))} rows)
    workflow, 2 partitions                   ${rate(m.subjects.partitions2)}  (median ${batches(2)} batches, largest ${fmt(largest(2))} rows)
    1 partition  / saving originals          ${formatSpread(m.ratios.p1Saving)}  (target ≥ 0.5)
    1 partition  / UPDATE                    ${formatSpread(m.ratios.p1Plain)}
    2 partitions / saving originals          ${formatSpread(m.ratios.p2Saving)}
    2 partitions / UPDATE                    ${formatSpread(m.ratios.p2Plain)}
    2 partitions / 1 partition               ${formatSpread(m.ratios.p2p1)}  (target > 1)`);
}

async function workflowRun(client: Client, pool: Pool, taskQueue: string, partitions: number): Promise<RunFigures> {
  const run = await startRun({ client, pool, taskQueue }, 'trades-risk-score', {
    batchSize: 5000,
    targetBatchMs: 500,
    dryRun: false,
    partitions,
  });
  const result = await client.workflow.getHandle(run.id).result();
  // Rows/s of the migration itself: from the run's creation to the end of its last batch
  // (applied_at is when a batch's transaction began, ms how long it took); verify excluded.
  const { rows } = await pool.query(
    `SELECT extract(epoch FROM max(b.applied_at + b.ms * interval '1 millisecond') - r.started_at)::float AS s,
            count(*)::int AS batches, max(b.rows)::int AS largest
     FROM migration_batches b JOIN migration_runs r ON r.id = b.run_id WHERE r.id = $1 GROUP BY r.started_at`,
    [run.id],
  );
  return {
    partitions,
    rate: result.rowsDone / rows[0].s,
    batches: rows[0].batches,
    largest: rows[0].largest,
    verified: !!result.verify?.ok,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

async function singleUpdate(pool: Pool, rows: number): Promise<number> {
  const started = process.hrtime.bigint();
  await pool.query(`UPDATE trades t SET risk_score = ${riskScoreSql}`);
  return rows / seconds(started);
}

/**
 * The fair baseline: the workflow's batch statement (old and new values, the UPDATE of the
 * changed rows, their [key, old value] pairs stored in migration_batches) over the whole
 * table as one batch, in one transaction, recorded under a run of its own.
 */
async function singleSavingOriginals(pool: Pool, rows: number): Promise<number> {
  const m = getMigrationDefinition('trades-risk-score');
  const run = await createRun(pool, { migration: m.name, kind: 'forward', dryRun: false, params: { baseline: true } });
  const client = await pool.connect();
  try {
    const started = process.hrtime.bigint();
    await client.query('BEGIN');
    const change = await applyForward(
      client,
      m,
      { limit: rows + 1, dryRun: false },
      { runId: run.id, partition: 0, seq: 0 },
    );
    await client.query('COMMIT');
    const rate = change.rows / seconds(started);
    if (change.rows !== rows) throw new Error(`the single statement read ${change.rows} rows, not ${rows}`);
    return rate;
  } finally {
    client.release();
    // Finished, so it does not hold off the workflow's runs of the same migration.
    await updateRun(pool, run.id, { state: 'completed', finished: true });
  }
}

/**
 * The seed's loop: `LIMIT 1000 OFFSET n`, then sleep(100). A full run over a million
 * rows takes many minutes and slows as n grows, so we time 25 of its batches at
 * offsets spread evenly over the table and take their mean as the whole run's.
 */
async function offsetBatching(pool: Pool, rows: number): Promise<number> {
  const samples = 25;
  const batch = 1000;
  let total = 0;
  for (let i = 0; i < samples; i++) {
    const offset = Math.floor(((rows - batch) * i) / (samples - 1));
    const started = process.hrtime.bigint();
    await pool.query(
      `UPDATE trades t SET risk_score = ${riskScoreSql}
       WHERE t.id IN (SELECT id FROM trades ORDER BY id LIMIT $1 OFFSET $2)`,
      [batch, offset],
    );
    await sleep(100);
    total += seconds(started);
  }
  return (samples * batch) / total;
}

/** A worker's peak resident set (VmHWM), which the kernel keeps for the process's life. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}
