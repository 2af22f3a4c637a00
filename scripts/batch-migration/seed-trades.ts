import { loadConfig } from '../../lib/infra/config';
import { createPool } from '../../lib/infra/db';
import { seedTrades } from '../../store/batch-migration/seed-trades';

/** `npm run seed:trades -- [count]`: replaces the trades table with `count` seeded rows (default 100000). */
async function main(args: string[]): Promise<number> {
  const count = Number(args[0] ?? 100_000);
  if (!Number.isInteger(count) || count < 1 || count > 50_000_000) {
    console.error(`count must be a whole number from 1 to 50000000, got ${JSON.stringify(args[0])}`);
    return 2;
  }
  const pool = createPool(loadConfig());
  try {
    const started = Date.now();
    await seedTrades(pool, count);
    console.log(`seeded ${count} trades in ${((Date.now() - started) / 1000).toFixed(1)} s`);
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
