import { z } from 'zod';
import { duration, durationMs, optional, optionalUrl } from './shared';

/**
 * Canary rollouts: where the worker reaches the traffic controllers and metrics providers.
 * A spec never names sockets or secrets; it picks a controller and the worker supplies these.
 */
export const rolloutEnv = z.object({
  HAPROXY_SOCKET: optional,
  PROMETHEUS_URL: optionalUrl,
  PROMETHEUS_TIMEOUT: duration.default('10s'),
  ROLLOUT_WEBHOOK_TOKEN: optional,
});

export interface RolloutConfig {
  rollout: {
    /** HAProxy's admin-level runtime API socket (`stats socket <path> level admin`). */
    haproxySocket?: string;
    prometheusUrl?: string;
    prometheusTimeoutMs: number;
    /** Bearer token the webhook traffic controller sends. */
    webhookToken?: string;
  };
}

export function rolloutConfig(e: z.infer<typeof rolloutEnv>): RolloutConfig {
  return {
    rollout: {
      haproxySocket: e.HAPROXY_SOCKET,
      prometheusUrl: e.PROMETHEUS_URL?.replace(/\/$/, ''),
      prometheusTimeoutMs: durationMs(e.PROMETHEUS_TIMEOUT),
      webhookToken: e.ROLLOUT_WEBHOOK_TOKEN,
    },
  };
}
