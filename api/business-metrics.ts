import { Gauge, type Registry } from 'prom-client';
import type { Pool } from '../lib/infra/db';
import type { Logger } from '../lib/infra/logger';
import { dataMigrations } from '../lib/batch-migration/registry';
import { runCountsByState } from '../store/batch-migration/run-counts';
import { orderCounts } from '../store/cbb/order-counts';

/** The states a migration run is in while it has not ended: each is reported, at 0 when no run is in it. */
const liveStates = ['starting', 'running', 'paused', 'verifying'];

/**
 * State that lives in Postgres, read when Prometheus scrapes the API: how many orders wait
 * for their sync, how many confirmations need an operator, how many migration runs are in
 * each state. The workers count events; these are levels, one source for every worker.
 * A scrape while Postgres is down leaves the gauges out rather than failing /metrics.
 */
export function registerBusinessGauges(registry: Registry, pool: Pool, log: Logger): void {
  const failed = (what: string) => (err: unknown) => {
    log.warn({ err }, `metrics: could not read ${what}`);
    return undefined;
  };
  new Gauge({
    name: 'cbb_orders_pending',
    help: 'Orders waiting for their CBB sync',
    registers: [registry],
    async collect() {
      const counts = await orderCounts(pool).catch(failed('order counts'));
      if (counts) this.set(counts.pending);
    },
  });
  new Gauge({
    name: 'cbb_confirmations_unconfirmed',
    help: 'WhatsApp confirmations whose send may or may not have happened: an operator checks each',
    registers: [registry],
    async collect() {
      const counts = await orderCounts(pool).catch(failed('order counts'));
      if (counts) this.set(counts.unconfirmed);
    },
  });
  new Gauge({
    name: 'batch_migration_runs_in_state',
    help: 'Migration runs by definition and state (ended runs included)',
    labelNames: ['migration', 'state'],
    registers: [registry],
    async collect() {
      const rows = await runCountsByState(pool).catch(failed('migration runs'));
      if (!rows) return;
      this.reset();
      for (const migration of dataMigrations.keys()) for (const state of liveStates) this.set({ migration, state }, 0);
      for (const r of rows) this.set({ migration: r.migration, state: r.state }, r.runs);
    },
  });
}
