import { log } from '@temporalio/activity';
import type { Config } from '../../lib/infra/config';
import type { Pool } from '../../lib/infra/db';
import { outboundPolicy } from '../../lib/infra/outbound/policy';
import type { Redis } from '../../lib/infra/redis';
import { judgeMeasurement } from '../../lib/rollout/judge';
import type { MetricVerdict } from '../../lib/rollout/verdict';
import type { MetricSpec } from '../../lib/rollout/metric-spec';
import type { RolloutSpec } from '../../lib/rollout/spec';
import type { TrafficSpec } from '../../lib/rollout/traffic-spec';
import {
  insertRollout,
  finishRollout,
  recordIncident,
  recordMeasurement,
  recordTransition,
  type IncidentRecord,
  type TransitionEvent,
} from '../../store/rollout/records';
import { metricsProviderFor, trafficControllerFor, type AdapterDeps } from './adapters';
import { createBuiltinMetrics } from './builtin-metrics';
import { runtimeRolloutMetrics, type AbortCause, type RolloutMetrics } from './metrics';
import { createPrometheusProvider } from './prometheus-provider';

export interface WeightInput {
  target: string;
  traffic: TrafficSpec;
  weight: number;
}

export interface MeasureInput {
  rolloutId: string;
  seq: number;
  /** The measurement's time in workflow time: the window ends here, whenever a retry runs. */
  at: number;
  target: string;
  metric: MetricSpec;
  /** Whether a baseline takes traffic (below weight 100): only then are relative limits checked. */
  baseline: boolean;
  analysis: 'step' | 'background';
  stepIndex: number;
  weight: number;
  attempt: number;
}

export interface TransitionInput extends TransitionEvent {
  target: string;
  /** Set on a transition to weight 0 by abort or rollback: the label of rollout_aborts_total. */
  abortCause?: AbortCause;
}

export interface RolloutDeps {
  config: Pick<Config, 'rollout' | 'outbound'>;
  pool: Pool;
  redis: Redis;
}

export interface RolloutActivityOptions {
  metrics?: RolloutMetrics;
  /** Replaces the adapters' dependencies (tests point them at their own HAProxy or Prometheus). */
  adapters?: Partial<AdapterDeps>;
}

/**
 * The canary rollout's side effects: moving traffic, measuring, and the records. Each is
 * safe to run twice: a weight is absolute, a measurement reads a window that ends at a
 * time the workflow fixed, and every record is keyed by the workflow's event number.
 */
export function createRolloutActivities(deps: RolloutDeps, opts: RolloutActivityOptions = {}) {
  const { config, pool, redis } = deps;
  const metrics = opts.metrics ?? runtimeRolloutMetrics;
  const adapters: AdapterDeps = {
    redis,
    builtin: createBuiltinMetrics(redis),
    prometheus: config.rollout.prometheusUrl
      ? createPrometheusProvider({
          baseUrl: config.rollout.prometheusUrl,
          timeoutMs: config.rollout.prometheusTimeoutMs,
        })
      : undefined,
    haproxySocketPath: config.rollout.haproxySocket,
    webhookToken: config.rollout.webhookToken,
    outbound: outboundPolicy(config.outbound),
    ...opts.adapters,
  };

  return {
    async recordRolloutStart(input: {
      rolloutId: string;
      workflowId: string;
      spec: RolloutSpec;
      requestedBy?: string;
      startedAt: number;
    }): Promise<void> {
      await insertRollout(pool, { id: input.rolloutId, ...input });
    },

    /** Sets the canary's absolute share: the same call twice leaves the router as one call would. */
    async setRolloutWeight(input: WeightInput): Promise<void> {
      await trafficControllerFor(input, adapters).setWeight(input.weight);
      metrics.weight(input.target, input.weight);
    },

    /**
     * One measurement: the provider's answer judged and stored with its numbers. The judge
     * runs here so that raw samples (thousands of latencies) never enter the workflow's
     * history; the verdict it returns carries every figure that decided it. A provider that
     * cannot answer is an inconclusive verdict, not a failed activity.
     */
    async measureRollout(input: MeasureInput): Promise<MetricVerdict> {
      const provider = metricsProviderFor(input.metric, adapters);
      const answer = await provider.measure(input.metric, {
        target: input.target,
        at: input.at,
        baseline: input.baseline,
      });
      const verdict = judgeMeasurement(input.metric, answer, { baseline: input.baseline });
      await recordMeasurement(pool, { ...input, verdict });
      metrics.verdict(verdict.verdict, input.analysis);
      return verdict;
    },

    async recordRolloutTransition(input: TransitionInput): Promise<void> {
      const stored = await recordTransition(pool, input);
      // Counted once per transition, not per retry of this activity.
      if (stored) {
        metrics.transition(input.transition.action);
        if (input.abortCause) metrics.aborted(input.abortCause);
        // One line per rollout step or action, with the correlation id the worker's interceptor adds.
        const { action, from, to, stepIndex, weight, reason } = input.transition;
        log.info('rollout transition', {
          rolloutId: input.rolloutId,
          target: input.target,
          action,
          from,
          to,
          stepIndex,
          weight,
          reason,
        });
      }
      metrics.weight(input.target, input.transition.weight);
    },

    async recordRolloutIncident(input: IncidentRecord): Promise<void> {
      await recordIncident(pool, input);
    },

    async finishRolloutRecord(rolloutId: string): Promise<void> {
      await finishRollout(pool, rolloutId);
    },
  };
}

export type RolloutActivities = ReturnType<typeof createRolloutActivities>;
