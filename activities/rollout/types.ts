import type { ProviderAnswer } from '../../lib/rollout/measurement';
import type { MetricSpec } from '../../lib/rollout/metric-spec';

/**
 * What moves traffic. setWeight sets an absolute share, so running it twice leaves the
 * same state: safe for Temporal to retry. Failures leave as AppError values (permanent
 * types for what a retry cannot fix, such as an unknown server name).
 */
export interface TrafficController {
  /** The canary's share of traffic, 0 to 100. */
  setWeight(weight: number): Promise<void>;
  getWeight(): Promise<number>;
}

export interface MeasureContext {
  target: string;
  /** The measurement's time (ms since the epoch), so the window is the one the workflow meant. */
  at: number;
  /** Whether a baseline takes traffic: at weight 100 there is none to query. */
  baseline: boolean;
}

/**
 * Where measurements come from. A provider that cannot answer (down, timed out, refused
 * the query, answered nonsense) returns `{ ok: false, error }` rather than throwing, so the
 * judge counts it as an inconclusive measurement instead of a retried activity.
 */
export interface MetricsProvider {
  measure(metric: MetricSpec, ctx: MeasureContext): Promise<ProviderAnswer>;
}
