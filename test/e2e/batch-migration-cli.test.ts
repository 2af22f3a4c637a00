import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
import { createPool, type Pool } from '../../lib/infra/db';
import { seedTrades } from '../../store/batch-migration/seed-trades';
import { getRun } from '../../store/batch-migration/runs';
import { appEnv, stackSettings, startAppPart } from '../../scripts/stack/parts';
import { isAlive, killProcess, stopProcess } from '../../scripts/stack/proc';
import { startPart } from '../../scripts/stack/stack';
import { waitUntil } from '../helpers/wait';

/**
 * `npm run batch-migration` following a run rides out a Temporal restart: it says it
 * lost contact, reconnects, and reports the run's real end, never a failure that did
 * not happen. The run is held mid-way by a row lock the test owns, so the restart
 * lands while the command is following, whatever the machine's speed.
 */
const s = stackSettings('test');
let pool: Pool;

beforeAll(async () => {
  await startAppPart(s, 'worker');
  pool = createPool({ database: { url: appEnv(s).DATABASE_URL, poolMax: 2 } });
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await stopProcess(s, 'worker', { graceMs: 60_000 });
});

test('the command follows a run through a Temporal restart to its completion', async () => {
  await seedTrades(pool, 2_000);
  // The run cannot pass the last row while this transaction holds it.
  const gate = new PgClient({ connectionString: appEnv(s).DATABASE_URL });
  await gate.connect();
  await gate.query('BEGIN');
  await gate.query('SELECT id FROM trades ORDER BY id DESC LIMIT 1 FOR UPDATE');

  const cli = spawn(
    process.execPath,
    [join(s.root, 'dist/scripts/batch-migration/cli.js'), 'trades-risk-score', '--batch-size', '200', '--concurrent'],
    { env: { ...process.env, ...appEnv(s), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
  cli.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => cli.on('exit', resolve));
  try {
    await waitUntil('the command to start a run', () => /started (migration-trades-risk-score-\d+)/.test(out));
    const id = /started (migration-trades-risk-score-\d+)/.exec(out)![1];
    await waitUntil(`${id} to have done some batches`, async () => ((await getRun(pool, id))?.batches ?? 0) >= 2);

    const pid = killProcess(s, 'temporal');
    await waitUntil('the Temporal server to die', () => pid === undefined || !isAlive(pid));
    await startPart(s, 'temporal');
    expect(cli.exitCode).toBeNull();

    await gate.query('ROLLBACK');
    const code = await exited;
    expect(out).toMatch(new RegExp(`${id}: completed, 2000 rows read`));
    expect(out).not.toMatch(/failed/);
    expect(code).toBe(0);
  } finally {
    await gate.end().catch(() => undefined);
    if (cli.exitCode === null) cli.kill('SIGKILL');
  }
}, 300_000);
