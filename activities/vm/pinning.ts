import type { Domain } from './libvirt';

/**
 * Domains with a call in flight. The binding's native calls hold a bare pointer to the
 * domain; if its JavaScript object were collected meanwhile, libvirt would be handed a
 * freed pointer ("invalid domain pointer", or a crash). A domain stays in this map from
 * its lookup until the last call on it settles.
 */
const inFlight = new Map<Domain, number>();

function pin(domain: Domain): void {
  inFlight.set(domain, (inFlight.get(domain) ?? 0) + 1);
}

function unpin(domain: Domain): void {
  const n = (inFlight.get(domain) ?? 1) - 1;
  if (n <= 0) inFlight.delete(domain);
  else inFlight.set(domain, n);
}

/** Runs `fn` with every one of `domains` pinned, until what it returns settles. */
export async function withPinned<T>(domains: Domain[], fn: () => Promise<T>): Promise<T> {
  domains.forEach(pin);
  try {
    return await fn();
  } finally {
    domains.forEach(unpin);
  }
}

/** How many domains are pinned now: zero whenever no call is in flight. */
export const pinnedDomains = (): number => inFlight.size;
