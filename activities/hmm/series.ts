import { notFound, validationError } from '../../lib/errors';
import { regimeFeatures, returnObservations, validateForFit, type Bar, type Observations } from '../../lib/hmm';
import { stateCounts, type AnalysisParams, type SeriesRef } from '../../lib/hmm/contract';
import type { Pool } from '../../lib/infra/db';
import { readBars } from '../../store/hmm/bars';

export interface Series {
  ref: SeriesRef;
  bars: Bar[];
  obs: Observations;
  /** Row i of obs belongs to bars[firstBar + i]. */
  firstBar: number;
}

/** Features of bars as the request asks: row i belongs to bar firstBar + i. */
export function features(
  bars: readonly Bar[],
  kind: AnalysisParams['features'],
): { obs: Observations; firstBar: number; columns: string[] } {
  if (kind === 'returns') {
    if (bars.length < 2) throw validationError(`need at least 2 bars for log returns, got ${bars.length}`);
    return { obs: returnObservations(bars.map((b) => b.close)), firstBar: 1, columns: ['logReturn'] };
  }
  const f = regimeFeatures(bars);
  return { obs: f.obs, firstBar: f.firstBar, columns: [...f.columns] };
}

/**
 * Reads the bars the request covers and turns them into features, refusing what no
 * retry can fix (no bars, NaN or non-positive prices, too few bars for the states asked,
 * a constant series) with a ValidationError or NotFound that says why. The window is
 * then pinned to the first and last bar read, so later steps see the same data even if
 * bars arrive meanwhile.
 */
export async function loadSeries(pool: Pool, params: AnalysisParams): Promise<Series> {
  const bars = await readBars(pool, params.symbol, { from: params.from, to: params.to });
  if (bars.length === 0) {
    const range = params.from || params.to ? ` between ${params.from ?? 'the start'} and ${params.to ?? 'now'}` : '';
    throw notFound(
      `no bars for ${params.symbol}${range}: import some (npm run hmm -- import <csv>) or generate them (npm run hmm -- generate)`,
    );
  }
  const f = features(bars, params.features);
  const counts = stateCounts(params);
  for (const k of counts) validateForFit(f.obs, k, params.covariance);
  return {
    bars,
    obs: f.obs,
    firstBar: f.firstBar,
    ref: {
      symbol: params.symbol,
      from: new Date(bars[0].time).toISOString(),
      to: new Date(bars[bars.length - 1].time).toISOString(),
      bars: bars.length,
      observations: f.obs.n,
      features: f.columns,
    },
  };
}

/** The series a previous step pinned; fails if the bars changed count since (a re-import in between). */
export async function readPinned(pool: Pool, params: AnalysisParams, ref: SeriesRef): Promise<Series> {
  const series = await loadSeries(pool, { ...params, from: ref.from, to: ref.to });
  if (series.ref.bars !== ref.bars) {
    throw validationError(
      `the bars of ${ref.symbol} between ${ref.from} and ${ref.to} changed during the analysis (${ref.bars} then ${series.ref.bars}): start it again`,
    );
  }
  return series;
}
