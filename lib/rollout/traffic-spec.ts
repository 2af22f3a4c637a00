import { z } from 'zod';
import { durationSchema } from './duration';
import { flagKey } from './spec-fields';
import { storableText } from '../text';

const haproxyName = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'HAProxy backend and server names are 1 to 100 letters, digits, _, ., : or -');

/** How traffic reaches the canary. Secrets and sockets come from the worker's configuration, never from a spec. */
export const trafficSpec = z.discriminatedUnion('controller', [
  z
    .object({
      controller: z.literal('flag'),
      /** The feature flag whose percentage is the canary's weight; the target's name when absent. */
      flag: flagKey.optional(),
    })
    .strict(),
  z
    .object({
      controller: z.literal('haproxy'),
      backend: haproxyName,
      canaryServer: haproxyName.default('canary'),
      stableServer: haproxyName.default('stable'),
    })
    .strict(),
  z
    .object({
      controller: z.literal('webhook'),
      url: storableText('url')
        .url('url must be an absolute http(s) URL')
        .refine((u) => /^https?:\/\//i.test(u), 'url must use http or https'),
      timeout: durationSchema('timeout', '100ms', '60s').default('10s'),
    })
    .strict(),
]);

export type TrafficSpec = z.output<typeof trafficSpec>;

/**
 * Every URL in a spec that the worker will call, by the field that names it: the API and
 * the worker hold each to the outbound policy (OUTBOUND_ALLOW). A new field that carries a
 * URL belongs here.
 */
export function outboundUrls(spec: { traffic: TrafficSpec }): { field: string; url: string }[] {
  return spec.traffic.controller === 'webhook' ? [{ field: 'traffic.url', url: spec.traffic.url }] : [];
}
