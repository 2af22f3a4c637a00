import type { Redis } from 'ioredis';
import { AppError } from '../../lib/errors';
import type { OutboundPolicy } from '../../lib/infra/outbound/policy';
import { durationMs } from '../../lib/rollout/duration';
import type { MetricSpec } from '../../lib/rollout/metric-spec';
import type { RolloutSpec } from '../../lib/rollout/spec';
import type { BuiltinMetrics } from './builtin-metrics';
import { createFlagController } from './flag-controller';
import { createHaproxyController } from './haproxy-controller';
import type { MetricsProvider, TrafficController } from './types';
import { createWebhookController } from './webhook-controller';

/** What the worker's configuration provides to the adapters; a spec never names sockets or secrets. */
export interface AdapterDeps {
  redis: Redis;
  builtin: BuiltinMetrics;
  prometheus?: MetricsProvider;
  haproxySocketPath?: string;
  webhookToken?: string;
  /** Which webhook URLs may be called: the same rule the API applied when the rollout started. */
  outbound: OutboundPolicy;
}

export function trafficControllerFor(
  spec: Pick<RolloutSpec, 'target' | 'traffic'>,
  deps: AdapterDeps,
): TrafficController {
  const traffic = spec.traffic;
  switch (traffic.controller) {
    case 'flag':
      return createFlagController(deps.redis, traffic.flag ?? spec.target);
    case 'haproxy':
      if (!deps.haproxySocketPath) {
        throw new AppError(
          'ValidationError',
          `rollout ${spec.target} routes through HAProxy, but the worker has no HAProxy admin socket configured`,
        );
      }
      return createHaproxyController({ socketPath: deps.haproxySocketPath, ...traffic });
    case 'webhook':
      return createWebhookController({
        url: traffic.url,
        target: spec.target,
        timeoutMs: durationMs(traffic.timeout),
        token: deps.webhookToken,
        policy: deps.outbound,
      });
  }
}

export function metricsProviderFor(metric: MetricSpec, deps: AdapterDeps): MetricsProvider {
  if (metric.provider.type === 'builtin') return deps.builtin;
  if (!deps.prometheus) {
    throw new AppError(
      'ValidationError',
      `metric ${metric.name} reads Prometheus, but the worker has no Prometheus URL configured`,
    );
  }
  return deps.prometheus;
}
