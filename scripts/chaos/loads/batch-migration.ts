import { seedTrades } from '../../../store/batch-migration/seed-trades';
import { batchCoverage, everyRowOnce, rowsToChange } from '../../../store/batch-migration/coverage';
import { invariant } from '../invariants';
import { scaled, settled, type ChaosLoad } from '../load';

/**
 * One migration of the demo trades table (`trades-risk-score`), started through the API
 * and left to run through every kill: its batches must still cover every row exactly
 * once, and its verify pass. The table is seeded afresh for the run (it is demo data).
 */
interface RunView {
  state?: string;
  rowsDone?: number;
  verify?: { ok: boolean; invalidRows: number };
}

export function batchMigrationLoad(): ChaosLoad {
  let rows = 0;
  let expected = 0;
  let runId: string | undefined;
  let last: RunView = {};

  const read = async (ctx: Parameters<ChaosLoad['start']>[0]) => {
    const res = await ctx.api.call<RunView>(
      'GET /api/v1/migrations/runs/{id}',
      'GET',
      `/api/v1/migrations/runs/${runId}`,
    );
    if (res.status === 200) last = res.body;
    return last;
  };

  return {
    name: 'batch-migration',
    async start(ctx) {
      rows = scaled(300_000, ctx.scale, 5_000);
      await seedTrades(ctx.pool, rows);
      expected = await rowsToChange(ctx.pool);
      // Batches of 500 at 1,000 rows a second: the run lasts the window, so the kills land mid-batch.
      const perSecond = Math.max(500, Math.round(rows / (ctx.windowMs / 1000)));
      const res = await ctx.api.persist<{ id: string }>(
        'POST /api/v1/migrations/{name}/runs',
        'POST',
        '/api/v1/migrations/trades-risk-score/runs',
        { batchSize: 500, maxRowsPerSecond: perSecond },
      );
      if (res.status !== 201) throw new Error(`the migration did not start: ${res.status} ${JSON.stringify(res.body)}`);
      runId = res.body.id;
      ctx.say(`migration ${runId}: ${rows} rows, ${expected} to change, ${perSecond} rows/s`);
    },
    async settle(ctx) {
      if (!runId) return;
      await settled(
        async () => ['completed', 'failed', 'cancelled'].includes((await read(ctx)).state ?? ''),
        600_000,
        2000,
      );
    },
    async check(ctx) {
      if (!runId) return [invariant('migration: the run started', false, 'the API never started it')];
      await read(ctx).catch(() => undefined);
      const coverage = await batchCoverage(ctx.pool, runId);
      const want = everyRowOnce(rows, expected);
      const once = Object.entries(want).every(([k, v]) => coverage[k as keyof typeof coverage] === v);
      return [
        invariant(
          'migration: the run completed and its verify passed',
          last.state === 'completed' && last.verify?.ok === true,
          `${runId}: ${last.state}, ${last.rowsDone ?? 0} of ${rows} rows, verify ${JSON.stringify(last.verify ?? null)}`,
        ),
        invariant(
          'migration: every row in exactly one batch, every change made once with its original kept',
          once,
          `${coverage.batches} batches; rows ${coverage.total}, covered ${coverage.covered}, distinct ${coverage.distinct_rows}; ` +
            `changed ${coverage.changed} of ${expected} expected, originals ${coverage.originals}`,
        ),
      ];
    },
  };
}
