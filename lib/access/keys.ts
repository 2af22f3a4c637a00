import { z } from 'zod';

/**
 * API keys are `<prefix>.<secret>`: the prefix finds the row (it is not secret and may be
 * shown, logged and typed in a `revoke`), the secret proves the holder and is kept only as
 * a slow hash. Pure: generation and hashing live where Node's crypto is allowed.
 */

export const keyPrefixPattern = /^ak_[0-9a-f]{12}$/;
const secretPattern = /^[A-Za-z0-9_-]{43}$/;

export const scopes = [
  'orders:read',
  'orders:write',
  'migrations:read',
  'migrations:admin',
  'workflows:read',
  'workflows:write',
  'analyses:read',
  'analyses:write',
  'self-checks:write',
  'schedules:read',
  'schedules:admin',
  'machines:read',
  'machines:write',
  'rollouts:read',
  'rollouts:write',
  'flags:read',
  'flags:write',
  // What an app's key needs: evaluate flags and report its requests' outcomes, nothing more.
  'flags:evaluate',
] as const;
export type Scope = (typeof scopes)[number];
/** Every scope at once: the local stack's API_TOKEN, and keys an operator makes for themselves. */
export const allScopes = '*';
export type Grant = Scope | typeof allScopes;
export const grantSchema = z.enum([allScopes, ...scopes]);

export const tiers = ['free', 'standard', 'professional', 'enterprise'] as const;
export type Tier = (typeof tiers)[number];
export const tierSchema = z.enum(tiers);

/**
 * Requests per minute and the burst a client may spend at once: a token bucket whose
 * capacity is the burst and which refills at the rate.
 */
export const tierLimits: Record<Tier, { perMinute: number; burst: number }> = {
  free: { perMinute: 10, burst: 2 },
  standard: { perMinute: 100, burst: 20 },
  professional: { perMinute: 1_000, burst: 100 },
  enterprise: { perMinute: 10_000, burst: 1_000 },
};

export interface PresentedKey {
  prefix: string;
  secret: string;
}

/** The key in an `Authorization: Bearer <prefix>.<secret>` header, or undefined when it has not that shape. */
export function parseKey(token: string): PresentedKey | undefined {
  const dot = token.indexOf('.');
  if (dot < 0) return undefined;
  const prefix = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  if (!keyPrefixPattern.test(prefix) || !secretPattern.test(secret)) return undefined;
  return { prefix, secret };
}

/** The token of an Authorization header, or undefined when it is not a Bearer credential. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return m?.[1];
}

/**
 * Whether the scopes granted allow what is needed; a resource's write or admin scope allows
 * reading it too, and nothing else does (`flags:evaluate` does not read the flags).
 */
export function grants(granted: readonly string[], needed: Scope): boolean {
  if (granted.includes(allScopes) || granted.includes(needed)) return true;
  const [resource, action] = needed.split(':');
  return action === 'read' && (granted.includes(`${resource}:write`) || granted.includes(`${resource}:admin`));
}

/** `30d`, `12h`, `90m` as milliseconds; undefined when the text is not such a duration. */
export function parseLifetime(text: string): number | undefined {
  const m = /^(\d{1,5})([dhm])$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n === 0) return undefined;
  return n * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
}
