import { createInterface } from 'node:readline/promises';
import { loadConfig } from '../../lib/infra/config';
import { createPool } from '../../lib/infra/db';
import { seedTrades } from '../../store/batch-migration/seed-trades';

/**
 * `npm run seed:trades -- [count] [--force]`: REPLACES the trades table with `count`
 * seeded rows (default 100000). A table that holds rows is replaced only after a yes at
 * the prompt, or with --force (there is no prompt without a terminal: it refuses).
 */
async function main(args: string[]): Promise<number> {
  const force = args.includes('--force');
  const positional = args.filter((a) => !a.startsWith('--'));
  const count = Number(positional[0] ?? 100_000);
  if (!Number.isInteger(count) || count < 1 || count > 50_000_000) {
    console.error(`count must be a whole number from 1 to 50000000, got ${JSON.stringify(positional[0])}`);
    return 2;
  }
  const pool = createPool(loadConfig());
  try {
    const { rows } = await pool.query<{ n: string }>(
      `SELECT CASE WHEN to_regclass('trades') IS NULL THEN 0 ELSE (SELECT count(*) FROM trades) END AS n`,
    );
    const existing = Number(rows[0].n);
    if (existing > 0 && !force) {
      const question = `the trades table holds ${existing} rows; replace them with ${count} seeded rows? [y/N] `;
      if (!process.stdin.isTTY) {
        console.error(`refusing: ${question.replace(/\? \[y\/N\] $/, '')}. Pass --force to replace them.`);
        return 1;
      }
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      const answer = await rl.question(question);
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        console.log('left as it was');
        return 1;
      }
    }
    const started = Date.now();
    await seedTrades(pool, count);
    console.log(
      `replaced the trades table${existing ? ` (${existing} rows)` : ''} with ${count} seeded trades in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return 0;
  } finally {
    await pool.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`seed failed: ${err.message}`);
    process.exit(1);
  },
);
