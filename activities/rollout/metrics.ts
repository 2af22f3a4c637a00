import type { MetricCounter, MetricGauge } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';

/** Why a rollout went to weight 0: a person, the judge, or a traffic controller that refused a step. */
export type AbortCause = 'manual' | 'analysis' | 'traffic';

/** The rollout figures on the worker's /metrics. */
export interface RolloutMetrics {
  aborted(cause: AbortCause): void;
  weight(target: string, weight: number): void;
}

let instruments: { aborts: MetricCounter; weight: MetricGauge } | undefined;

/**
 * Through the Temporal Runtime's metric meter, so the figures join the worker's own on the
 * one /metrics endpoint that the Runtime serves (WORKER_METRICS_PORT). Instruments are made
 * once per process, on first use (the worker has installed its Runtime by then): the Runtime
 * exports a second instrument of the same name as a duplicate series.
 */
export function runtimeRolloutMetrics(): RolloutMetrics {
  const get = () => {
    if (!instruments) {
      const meter = Runtime.instance().metricMeter;
      instruments = {
        aborts: meter.createCounter('rollout_aborts_total', '', 'Rollouts taken to weight 0, by cause'),
        weight: meter.createGauge('rollout_weight', 'int', '', "The canary's share of traffic in percent, by target"),
      };
    }
    return instruments;
  };
  return {
    aborted: (cause) => get().aborts.add(1, { reason: cause }),
    weight: (target, weight) => get().weight.set(weight, { target }),
  };
}
