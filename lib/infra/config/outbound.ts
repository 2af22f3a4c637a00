import { z } from 'zod';
import { parseCidr, parseHostPattern, type OutboundRules } from '../outbound/policy';

/** A comma list whose every entry the parser accepts; an empty or absent setting is an empty list. */
const list = (what: string, parse: (entry: string) => unknown) =>
  z
    .string()
    .default('')
    .transform((text, ctx) => {
      const entries = text
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      for (const entry of entries) {
        try {
          parse(entry);
        } catch (err) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${what}, but ${(err as Error).message}` });
        }
      }
      return entries;
    });

/**
 * Where the project may send requests whose URL a caller chose (a rollout's webhook).
 * Closed by default: a host must be listed, and a private, loopback or link-local
 * address must be allowed on its own (lib/infra/outbound/policy.ts).
 */
export const outboundEnv = z.object({
  OUTBOUND_ALLOW: list('a comma list of *, host, host:port or *.domain', parseHostPattern),
  OUTBOUND_ALLOW_PRIVATE: list('a comma list of addresses or CIDR ranges', parseCidr),
});

export interface OutboundConfig {
  outbound: OutboundRules;
}

export function outboundConfig(e: z.infer<typeof outboundEnv>): OutboundConfig {
  return { outbound: { allow: e.OUTBOUND_ALLOW, allowPrivate: e.OUTBOUND_ALLOW_PRIVATE } };
}
