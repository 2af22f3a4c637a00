import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { SingleBar } from 'cli-progress';
import { loadConfig, type Config } from '../../lib/infra/config';
import { createPool, type Pool } from '../../lib/infra/db';
import { dataMigrations } from '../../lib/batch-migration/registry';
import { migrationProgress, type MigrationProgress, type MigrationResult } from '../../lib/batch-migration/contract';
import { getRun } from '../../store/batch-migration/runs';
import { runParameters, startRun } from '../../store/batch-migration/start';
import { temporalConnectionOptions, workflowUiUrl } from '../../lib/infra/temporal';

/**
 * `npm run batch-migration -- <name> [...]` (alias `migrate:data`): starts a batchMigration
 * run (the same workflow the API starts) and follows it with a progress bar; `attach <id>`
 * follows one started earlier. Ctrl-C detaches: the run goes on in Temporal. A Temporal
 * restart while following is shown and ridden out, never reported as the run's failure.
 */
const usage = `usage: npm run batch-migration -- <name> [--batch-size N] [--rate ROWS_PER_S] [--target-ms MS] [--partitions N|auto] [--dry-run] [--concurrent]
       npm run batch-migration -- attach <run id>
migrations: ${[...dataMigrations.keys()].join(', ')}`;

const int = (v: string | undefined) => (v === undefined ? undefined : Number(v));

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'batch-size': { type: 'string' },
      rate: { type: 'string' },
      'target-ms': { type: 'string' },
      partitions: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      concurrent: { type: 'boolean', default: false },
    },
  });
  if (positionals[0] === 'attach') return attach(positionals[1]);
  const name = positionals[0];
  if (!name || !dataMigrations.has(name)) {
    console.error(name ? `no data migration named ${JSON.stringify(name)}\n${usage}` : usage);
    return 2;
  }
  const parsed = runParameters.safeParse({
    batchSize: int(values['batch-size']),
    maxRowsPerSecond: int(values.rate),
    targetBatchMs: int(values['target-ms']),
    partitions: values.partitions === 'auto' ? 'auto' : int(values.partitions),
    dryRun: values['dry-run'],
    concurrent: values.concurrent,
  });
  if (!parsed.success) {
    console.error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
    return 2;
  }
  const settings = parsed.data;
  return withConnections(async ({ config, pool, client }) => {
    const run = await startRun({ client, pool, taskQueue: config.temporal.taskQueue }, name, settings);
    console.log(`started ${run.id}${settings.dryRun ? ' (dry run)' : ''}\n  Web UI: ${workflowUiUrl(config, run.id)}`);
    const auto = run.params.autoPartitions as { cores: number; load: number } | undefined;
    if (auto)
      console.log(`  partitions: ${run.params.partitions} (auto: ${auto.cores} database cores, load ${auto.load})`);
    return follow(client, pool, run.id);
  });
}

/** `attach <run id>`: follows a run started earlier (by the API, or by a run of this command that was detached). */
async function attach(id: string | undefined): Promise<number> {
  if (!id || !/^migration-[a-z0-9-]+-\d+$/.test(id)) {
    console.error(`usage: npm run batch-migration -- attach <run id such as migration-trades-risk-score-1>`);
    return 2;
  }
  return withConnections(async ({ config, pool, client }) => {
    if (!(await getRun(pool, id))) {
      console.error(`no migration run ${id}`);
      return 1;
    }
    console.log(`following ${id}\n  Web UI: ${workflowUiUrl(config, id)}`);
    return follow(client, pool, id);
  });
}

/** Postgres and Temporal for one command, both closed when it returns, however it ends. */
async function withConnections(
  command: (c: { config: Config; pool: Pool; client: Client }) => Promise<number>,
): Promise<number> {
  const config = loadConfig();
  const pool = createPool(config);
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  try {
    return await command({ config, pool, client });
  } finally {
    await Promise.allSettled([pool.end(), connection.close()]);
  }
}

/** Rows per second over the last ten seconds of what the run record says: the rate a person sees, throttling included. */
function slidingRate() {
  const samples: { at: number; rows: number }[] = [];
  return (rows: number): number => {
    const now = Date.now();
    samples.push({ at: now, rows });
    while (samples.length > 2 && now - samples[0].at > 10_000) samples.shift();
    const first = samples[0];
    return now > first.at ? Math.round(((rows - first.rows) * 1000) / (now - first.at)) : 0;
  };
}

type Outcome = { ok: true; r: MigrationResult } | { ok: false; err: unknown };

/**
 * Waits for the run's result, riding out a Temporal restart or a dropped connection:
 * only the workflow's own failure is a failure; anything else is lost contact, retried
 * with backoff while `onContact` tells the user.
 */
async function resultThroughOutages(
  client: Client,
  id: string,
  onContact: (lost: string | undefined) => void,
  stopped: () => boolean,
): Promise<Outcome | undefined> {
  let delay = 500;
  while (!stopped()) {
    try {
      const r = await client.workflow.getHandle(id).result();
      onContact(undefined);
      return { ok: true, r: r as MigrationResult };
    } catch (err) {
      if (err instanceof WorkflowFailedError || err instanceof WorkflowNotFoundError) return { ok: false, err };
      onContact(err instanceof Error ? err.message : String(err));
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  }
  return undefined;
}

/**
 * Rows come from the run record (which partitions update too), the state and requests
 * from the workflow's progress query. The bar fits an 80-column terminal.
 */
async function follow(client: Client, pool: Pool, id: string): Promise<number> {
  const bar = new SingleBar({
    format: '{bar} {percentage}% {value}/{total} | {rate}/s | ETA {eta_h} | {state}',
    barsize: 16,
    hideCursor: true,
  });
  let detached = false;
  process.once('SIGINT', () => {
    detached = true;
  });
  let lost: string | undefined;
  bar.start(1, 0, { rate: 0, eta_h: '?', state: 'starting' });
  let finished: Outcome | undefined;
  const done = resultThroughOutages(
    client,
    id,
    (why) => {
      lost = why;
    },
    () => detached,
  ).then((f) => (finished = f));
  const rateOf = slidingRate();
  while (!finished && !detached) {
    const [p, rec] = await Promise.all([
      client.workflow
        .getHandle(id)
        .query(migrationProgress)
        .catch((): MigrationProgress | undefined => undefined),
      getRun(pool, id).catch(() => undefined),
    ]);
    if (rec) {
      const rate = rateOf(rec.rowsDone);
      const total = Math.max(rec.estimatedTotal ?? rec.rowsDone, rec.rowsDone, 1);
      const state = lost
        ? 'no contact with Temporal; retrying'
        : p?.pauseRequested && rec.state === 'running'
          ? 'pause requested'
          : rec.state;
      bar.setTotal(total);
      bar.update(rec.rowsDone, {
        rate,
        eta_h: rate > 0 ? `${Math.round((total - rec.rowsDone) / rate)}s` : '?',
        state: state.slice(0, 34),
      });
    }
    await Promise.race([done, new Promise((r) => setTimeout(r, 500))]);
  }
  bar.stop();
  if (detached) {
    console.log(`detached; ${id} goes on. Re-attach: npm run batch-migration -- attach ${id}`);
    return 0;
  }
  if (finished!.ok) {
    const r = finished!.r;
    console.log(
      `${id}: ${r.state}, ${r.rowsDone} rows read, ${r.rowsChanged} changed${r.verify ? `, verify ${r.verify.ok ? 'passed' : 'FAILED'}` : ''}`,
    );
    return r.state === 'completed' ? 0 : 1;
  }
  const err = finished!.err;
  const cause = err instanceof WorkflowFailedError && err.cause ? err.cause.message : (err as Error).message;
  console.error(`${id} failed: ${cause}`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`batch-migration failed: ${err.message}`);
    process.exit(1);
  },
);
