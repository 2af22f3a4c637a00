import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { SingleBar } from 'cli-progress';
import { loadConfig } from '../../lib/infra/config';
import { createPool, type Pool } from '../../lib/infra/db';
import { dataMigrations } from '../../lib/batch-migration/registry';
import { migrationProgress, type MigrationProgress, type MigrationResult } from '../../lib/batch-migration/contract';
import { getRun } from '../../store/batch-migration/runs';
import { runParameters, startRun } from '../../store/batch-migration/start';
import { temporalConnectionOptions, workflowUiUrl } from '../../lib/infra/temporal';

/**
 * `npm run migrate:data -- <name> [--batch-size N] [--rate N] [--target-ms N] [--partitions N] [--dry-run]`:
 * starts a batchMigration run (the same workflow the API starts) and follows it with a
 * progress bar. Ctrl-C detaches: the run goes on in Temporal.
 */
const usage = `usage: npm run migrate:data -- <name> [--batch-size N] [--rate ROWS_PER_S] [--target-ms MS] [--partitions N] [--dry-run]
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
    },
  });
  const name = positionals[0];
  if (!name || !dataMigrations.has(name)) {
    console.error(name ? `no data migration named ${JSON.stringify(name)}\n${usage}` : usage);
    return 2;
  }
  const parsed = runParameters.safeParse({
    batchSize: int(values['batch-size']),
    maxRowsPerSecond: int(values.rate),
    targetBatchMs: int(values['target-ms']),
    partitions: int(values.partitions),
    dryRun: values['dry-run'],
  });
  if (!parsed.success) {
    console.error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
    return 2;
  }
  const config = loadConfig();
  const pool = createPool(config);
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  try {
    const run = await startRun({ client, pool, taskQueue: config.temporal.taskQueue }, name, parsed.data);
    console.log(
      `started ${run.id}${parsed.data.dryRun ? ' (dry run)' : ''}\n  Web UI: ${workflowUiUrl(config, run.id)}`,
    );
    return await follow(client, pool, run.id);
  } finally {
    await Promise.allSettled([pool.end(), connection.close()]);
  }
}

/**
 * Rows come from the run record (which partitions update too), rate and requests from
 * the workflow's progress query.
 */
async function follow(client: Client, pool: Pool, id: string): Promise<number> {
  const since = Date.now();
  const handle = client.workflow.getHandle(id);
  const bar = new SingleBar({
    format: ' {bar} {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_h} | {state} batch {batchSize}',
    hideCursor: true,
  });
  let detached = false;
  process.once('SIGINT', () => {
    detached = true;
  });
  bar.start(1, 0, { rate: 0, eta_h: '?', state: 'starting', batchSize: '' });
  const done = handle.result().then(
    (r: MigrationResult) => ({ ok: true as const, r }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  let finished: Awaited<typeof done> | undefined;
  void done.then((f) => (finished = f));
  while (!finished && !detached) {
    const [p, rec] = await Promise.all([
      handle.query(migrationProgress).catch((): MigrationProgress | undefined => undefined),
      getRun(pool, id).catch(() => undefined),
    ]);
    if (rec) {
      const rate = p?.rowsPerSecond || Math.round((rec.rowsDone / Math.max(1, Date.now() - since)) * 1000);
      const total = Math.max(rec.estimatedTotal ?? rec.rowsDone, rec.rowsDone, 1);
      bar.setTotal(total);
      bar.update(rec.rowsDone, {
        rate,
        eta_h: rate > 0 ? `${Math.round((total - rec.rowsDone) / rate)}s` : '?',
        state: p?.pauseRequested && rec.state === 'running' ? 'pause requested' : rec.state,
        batchSize: p?.batchSize ?? rec.batchSize ?? '',
      });
    }
    await Promise.race([done, new Promise((r) => setTimeout(r, 500))]);
  }
  bar.stop();
  if (detached) {
    console.log(`detached; ${id} goes on. Follow it: GET /api/v1/migrations/runs/${id}`);
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
    console.error(`migrate:data failed: ${err.message}`);
    process.exit(1);
  },
);
