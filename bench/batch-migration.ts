import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { createPool, type Pool } from '../lib/infra/db';
import { seedTrades } from '../store/batch-migration/seed-trades';
import { startRun } from '../store/batch-migration/start';
import { riskScoreSql } from '../lib/batch-migration/trades-risk-score';
import { runningPid, sleep } from '../scripts/stack/proc';
import { isolatedStack } from './support/isolated-stack';

/**
 * `npm run bench -- batch-migration [rows]`: on an isolated stack of its own (test slot
 * 6 unless TEST_STACK_SLOT says otherwise), recomputes trades.risk_score over a
 * million rows three ways and prints rows/s of each: the batchMigration workflow, one
 * `UPDATE` of the whole table (the practical limit), and the seed's `LIMIT 1000
 * OFFSET n` loop with its sleep(100). Then the ratios and the worker's peak RSS.
 */
export default async function bench(args: string[]): Promise<void> {
  const rows = Number(args[0] ?? 1_000_000);
  const say = (msg: string) => console.log(`[bench] ${msg}`);
  const stack = await isolatedStack({ slot: 6, only: ['postgres', 'redis', 'temporal'], build: 'the worker', say });
  const { s, config } = stack;
  const pool = createPool(config, undefined, 'bench');
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  try {
    say(`seeding ${rows} trades`);
    await seedTrades(pool, rows);
    const single = await singleStatement(pool, rows);
    say(`single UPDATE: ${fmt(single)} rows/s`);

    await seedTrades(pool, rows);
    const offset = await offsetBatching(pool, rows);
    say(`OFFSET batching (sampled): ${fmt(offset)} rows/s`);

    const pid = await stack.startApp('worker');
    const runs = [];
    for (const partitions of [1, 2]) {
      await seedTrades(pool, rows);
      runs.push(await workflowRun(client, pool, config.temporal.taskQueue, partitions));
      say(`workflow, ${partitions} partition(s): ${fmt(runs.at(-1)!.rate)} rows/s`);
    }
    const peakRss = peakRssMb(runningPid(s, 'worker') ?? pid);
    console.log(`
batch-migration benchmark: ${rows} trades, trades-risk-score, batch size from 5000 aiming at 500 ms a batch`);
    for (const r of runs) {
      console.log(
        `  workflow, ${r.partitions} partition(s)        ${fmt(r.rate)} rows/s  (${r.batches} batches, largest ${r.largest} rows; ${r.total.toFixed(1)} s with start and verify; verify ${r.verified ? 'passed' : 'FAILED'})`,
      );
    }
    console.log(`  single UPDATE statement          ${fmt(single)} rows/s
  OFFSET batching (seed loop)      ${fmt(offset)} rows/s`);
    for (const r of runs) {
      console.log(
        `  ${r.partitions} partition(s): workflow / single UPDATE ${(r.rate / single).toFixed(2)} (target >= 0.5), workflow / OFFSET ${(r.rate / offset).toFixed(1)} (target >= 10)`,
      );
    }
    console.log(`  worker peak RSS                  ${peakRss} MB  (target < 300)`);
  } finally {
    await Promise.allSettled([pool.end(), connection.close()]);
    await stack.stop();
  }
}

async function workflowRun(client: Client, pool: Pool, taskQueue: string, partitions: number) {
  const started = Date.now();
  const run = await startRun({ client, pool, taskQueue }, 'trades-risk-score', {
    batchSize: 5000,
    targetBatchMs: 500,
    dryRun: false,
    partitions,
  });
  const result = await client.workflow.getHandle(run.id).result();
  const total = (Date.now() - started) / 1000;
  // Rows/s of the migration itself: from the run's creation to its last batch (verify excluded).
  const { rows } = await pool.query(
    `SELECT extract(epoch FROM max(b.applied_at) - r.started_at)::float AS s, count(*)::int AS batches, max(b.rows)::int AS largest
     FROM migration_batches b JOIN migration_runs r ON r.id = b.run_id WHERE r.id = $1 GROUP BY r.started_at`,
    [run.id],
  );
  return {
    partitions,
    rate: result.rowsDone / rows[0].s,
    batches: rows[0].batches,
    largest: rows[0].largest,
    total,
    verified: !!result.verify?.ok,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function singleStatement(pool: Pool, rows: number): Promise<number> {
  const started = process.hrtime.bigint();
  await pool.query(`UPDATE trades t SET risk_score = ${riskScoreSql}`);
  return rows / (Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * The seed's loop: `LIMIT 1000 OFFSET n`, then sleep(100). A full run over a million
 * rows takes many minutes and slows as n grows, so we time 25 of its batches at
 * offsets spread evenly over the table and take their mean as the whole run's.
 */
async function offsetBatching(pool: Pool, rows: number): Promise<number> {
  const samples = 25;
  const batch = 1000;
  let seconds = 0;
  for (let i = 0; i < samples; i++) {
    const offset = Math.floor(((rows - batch) * i) / (samples - 1));
    const started = process.hrtime.bigint();
    await pool.query(
      `UPDATE trades t SET risk_score = ${riskScoreSql}
       WHERE t.id IN (SELECT id FROM trades ORDER BY id LIMIT $1 OFFSET $2)`,
      [batch, offset],
    );
    await sleep(100);
    seconds += Number(process.hrtime.bigint() - started) / 1e9;
  }
  return (samples * batch) / seconds;
}

/** The worker's peak resident set (VmHWM), which the kernel keeps for the process's life. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}
