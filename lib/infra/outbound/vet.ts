import { lookup as dnsLookup } from 'node:dns/promises';
import { AppError } from '../../errors';
import { checkAddresses, checkUrl, type OutboundPolicy, type OutboundTarget } from './policy';

/** Resolves a host name to every address it has; tests pass their own to stand for DNS. */
export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

export const systemResolve: Resolve = (host) => dnsLookup(host, { all: true, verbatim: true });

/** A target the policy accepted, with the address that was checked: the one to connect to. */
export interface VettedTarget extends OutboundTarget {
  address: string;
  family: 4 | 6;
}

/**
 * The policy applied to a URL, names resolved. A refusal is a ValidationError whose message
 * says why (the caller prefixes the field); a name that does not resolve is one too, while
 * a resolver that cannot answer now is Unavailable, which a retry may fix.
 */
export async function vetOutbound(
  policy: OutboundPolicy,
  text: string,
  resolve: Resolve = systemResolve,
): Promise<VettedTarget> {
  const form = checkUrl(policy, text);
  if (!form.ok) throw new AppError('ValidationError', form.reason);
  const target = form.value;
  let addresses: { address: string; family: number }[];
  if (target.literal) {
    addresses = [{ address: target.host, family: target.literal }];
  } else {
    try {
      addresses = await resolve(target.host);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'an error';
      const gone = code === 'ENOTFOUND' || code === 'ENODATA';
      throw new AppError(
        gone ? 'ValidationError' : 'Unavailable',
        `host ${target.host} ${gone ? 'does not resolve' : 'could not be resolved now'} (${code})`,
      );
    }
  }
  const checked = checkAddresses(policy, target, addresses);
  if (!checked.ok) throw new AppError('ValidationError', checked.reason);
  return { ...target, ...checked.value };
}
