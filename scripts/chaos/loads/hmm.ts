import { syntheticBars } from '../../../lib/hmm/synthetic';
import { importBars } from '../../../store/hmm/bars';
import { invariant } from '../invariants';
import { scaled, settled, type ChaosLoad, type LoadContext } from '../load';

/**
 * HMM regime analyses of synthetic prices, one symbol each, started through the API
 * and fitted by the HMM worker through the kills: every one must complete.
 */
const ended = new Set(['completed', 'failed', 'cancelled']);

export function hmmLoad(): ChaosLoad {
  const analyses = new Map<string, string>();
  const last = new Map<string, string>();

  const read = async (ctx: LoadContext, id: string) => {
    const res = await ctx.api.call<{ status: string }>('GET /api/v1/analyses/{id}', 'GET', `/api/v1/analyses/${id}`);
    if (res.status === 200) last.set(id, res.body.status);
    return last.get(id);
  };

  return {
    name: 'hmm',
    async start(ctx) {
      const count = scaled(10, ctx.scale, 2);
      for (let i = 0; i < count; i++) {
        const symbol = `${ctx.tag}-S${i}`.toUpperCase().slice(-32);
        await importBars(ctx.pool, symbol, syntheticBars({ n: 1500, seed: ctx.rng.nextUint32() }).bars);
        const res = await ctx.api.persist<{ analysisId: string }>('POST /api/v1/analyses', 'POST', '/api/v1/analyses', {
          symbol,
          states: 3,
          seed: i + 1,
        });
        if (res.status !== 202 && res.status !== 200)
          throw new Error(`the analysis of ${symbol} did not start: ${res.status} ${JSON.stringify(res.body)}`);
        analyses.set(symbol, res.body.analysisId);
      }
    },
    async settle(ctx) {
      await settled(
        async () => {
          for (const id of analyses.values()) if (!ended.has((await read(ctx, id)) ?? '')) return false;
          return true;
        },
        300_000,
        2000,
      );
    },
    async check(ctx) {
      for (const id of analyses.values()) await read(ctx, id).catch(() => undefined);
      const notDone = [...analyses.values()].filter((id) => last.get(id) !== 'completed');
      return [
        invariant(
          'analyses: every HMM analysis completed',
          notDone.length === 0 && analyses.size > 0,
          `${analyses.size - notDone.length} of ${analyses.size} completed` +
            (notDone.length ? `; not: ${notDone.map((id) => `${id} (${last.get(id) ?? 'unknown'})`).join(', ')}` : ''),
        ),
      ];
    },
  };
}
