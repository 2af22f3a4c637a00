import type { MetricMeter } from '@temporalio/common';
import { labelSets, onRuntimeMeter } from '../meter';

/** How a fit ended: converged or stopped at its iteration limit, failed, or cancelled (a shutdown, a cancelled analysis). */
export type FitOutcome = 'converged' | 'not_converged' | 'failed' | 'cancelled';
const fitOutcomes: readonly FitOutcome[] = ['converged', 'not_converged', 'failed', 'cancelled'];
const engines = ['local', 'remote'] as const;

export const hmmHistograms = ['hmm_fit_duration_seconds'];

export interface HmmMetrics {
  fit(engine: 'local' | 'remote', outcome: FitOutcome, seconds: number): void;
}

export function createHmmMetrics(meter: MetricMeter): HmmMetrics {
  const fits = meter.createCounter('hmm_fits_total', '', 'HMM fits ended, by engine and outcome');
  const latency = meter.createHistogram(
    'hmm_fit_duration_seconds',
    'float',
    's',
    'Time an HMM fit took, failed ones included, by engine',
  );
  for (const set of labelSets({ engine: engines, outcome: fitOutcomes })) fits.add(0, set);
  return {
    fit(engine, outcome, seconds) {
      fits.add(1, { engine, outcome });
      latency.record(seconds, { engine });
    },
  };
}

export const runtimeHmmMetrics = onRuntimeMeter(createHmmMetrics);
