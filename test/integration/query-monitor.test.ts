import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createPool, inTransaction, type Pool } from '../../lib/infra/db';
import { loadConfig } from '../../lib/infra/config';
import { createQueryMonitor, type QueryMonitor } from '../../lib/infra/query-monitor';

/** Statement timing on a real Postgres: names, percentiles, slow statements logged and counted, the health class. */
let pool: Pool;
let monitor: QueryMonitor;
let registry: Registry;
const lines: Record<string, unknown>[] = [];
/**
 * The monitor's clock, moved only by the test: a statement takes as long as the test says
 * it does, so no statement of a loaded machine can cross the slow line by chance.
 */
let clock = 0;

/** Runs a statement the monitor sees take `ms`: the clock moves between its start and its end. */
async function taking(ms: number, sql: string): Promise<void> {
  const client = await pool.connect();
  try {
    const result = client.query(sql);
    clock += ms;
    await result;
  } finally {
    client.release();
  }
}

beforeAll(() => {
  registry = new Registry();
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const log = pino({ level: 'warn' }, sink);
  monitor = createQueryMonitor({ registry, prefix: 'test_', slowMs: 100, log, now: () => clock });
  pool = createPool(loadConfig(), undefined, 'query-monitor-test', { connectMs: 5000, client: monitor.Client });
});
afterAll(() => pool?.end());

test('every statement is timed by name, slow ones are logged without their parameters and counted', async () => {
  await pool.query('CREATE TEMP TABLE IF NOT EXISTS qm_probe (id int)');
  for (let i = 0; i < 18; i++) await pool.query('SELECT 1 FROM pg_class WHERE relname = $1', ['secret-value']);
  await taking(200, 'SELECT 1 FROM pg_class LIMIT 1');
  await inTransaction(pool, (c) => c.query('SELECT count(*) FROM pg_namespace'));

  const text = await registry.metrics();
  expect(text).toMatch(/test_db_query_duration_seconds\{quantile="0\.95",query="select pg_class"\}/);
  expect(text).toMatch(/test_db_query_duration_seconds_count\{query="select pg_namespace"\} 1/);
  expect(text).toMatch(/test_db_query_duration_seconds_count\{query="begin"\} 1/);
  expect(text).toMatch(/test_db_queries_slow_total\{query="select pg_class"\} 1/);

  const slow = lines.filter((l) => l.msg === 'slow query');
  expect(slow).toHaveLength(1);
  expect(slow[0]).toMatchObject({ query: 'select pg_class' });
  expect(slow[0].ms).toBe(200);
  expect(JSON.stringify(lines)).not.toContain('secret-value');

  // 1 slow of 23 statements (create, 18 + 1 selects, begin, select, commit): 4.3 %, under the 5 % line.
  const h = monitor.health();
  expect(h.statements).toBe(23);
  expect(h.class).toBe('healthy');
  await taking(150, 'SELECT 1 FROM pg_class LIMIT 1');
  // 2 of 24: 8.3 %.
  expect(monitor.health().class).toBe('degraded');
  await taking(150, 'SELECT 1 FROM pg_class LIMIT 1');
  // 3 of 25: 12 %.
  expect(monitor.health().class).toBe('unhealthy');
});
