import { BlockList, isIP } from 'node:net';

/**
 * Which URLs the project may call when a request names them (a rollout's webhook): the
 * rule alone, without I/O. The caller resolves the name and passes the addresses; the
 * API and the worker apply the same rule, the worker again right before each call.
 *
 * A URL passes when its host matches an `OUTBOUND_ALLOW` entry and every address it
 * resolves to is public, or inside an `OUTBOUND_ALLOW_PRIVATE` range. The default (both
 * empty) lets nothing out.
 */

export interface OutboundRules {
  /** Host patterns: `*`, `host`, `host:port`, `*.domain`, `*.domain:port`, `10.0.0.5`, `[fd00::5]:8080`. */
  allow: readonly string[];
  /** Addresses or CIDR ranges that may be reached although private, loopback or link-local. */
  allowPrivate: readonly string[];
}

interface HostPattern {
  /** `*` (any host), an exact host, or a suffix (`.example.com` for `*.example.com`). */
  host: string;
  kind: 'any' | 'exact' | 'suffix';
  port?: number;
}

export interface OutboundPolicy {
  hosts: readonly HostPattern[];
  privateAllowed: BlockList;
}

/** A URL whose form and host the policy accepts; its addresses are still to be checked. */
export interface OutboundTarget {
  url: URL;
  /** The host as connected to: lower case, without brackets or a trailing dot. */
  host: string;
  port: number;
  /** 4 or 6 for an address literal, 0 for a name. */
  literal: 0 | 4 | 6;
  /** Whether an entry names this host (not only `*`): only such hosts are sent credentials. */
  named: boolean;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Ranges that are not the public internet, by the name a refusal gives. */
const specialRanges: [name: string, cidr: string][] = [
  ['unspecified', '0.0.0.0/8'],
  ['unspecified', '::/128'],
  ['loopback', '127.0.0.0/8'],
  ['loopback', '::1/128'],
  ['private', '10.0.0.0/8'],
  ['private', '172.16.0.0/12'],
  ['private', '192.168.0.0/16'],
  ['private', 'fc00::/7'],
  ['link-local', '169.254.0.0/16'],
  ['link-local', 'fe80::/10'],
  ['carrier-grade NAT', '100.64.0.0/10'],
  ['IETF protocol assignments', '192.0.0.0/24'],
  ['benchmarking', '198.18.0.0/15'],
  ['multicast', '224.0.0.0/4'],
  ['multicast', 'ff00::/8'],
  ['reserved', '240.0.0.0/4'],
  // IPv4-compatible IPv6 (deprecated): `::127.0.0.1` would otherwise pass as a public IPv6 address.
  ['IPv4-compatible IPv6', '::/96'],
];

const special = specialRanges.map(([name, cidr]) => {
  const list = new BlockList();
  const { address, prefix, family } = parseCidr(cidr);
  list.addSubnet(address, prefix, family);
  return { name, list };
});

/** `10.0.0.0/8`, `fd00::/8` or a single address; throws with a message naming what is wrong. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [raw, bits, extra] = text.trim().split('/');
  const address = (raw ?? '').replace(/^\[(.*)\]$/, '$1');
  const version = isIP(address);
  if (!version || extra !== undefined) throw new Error(`${JSON.stringify(text)} is not an address or CIDR range`);
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d+$/.test(bits ?? String(max)) || prefix > max)
    throw new Error(`${JSON.stringify(text)} has a prefix length outside 0..${max}`);
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** One `OUTBOUND_ALLOW` entry; throws with a message naming what is wrong. */
export function parseHostPattern(text: string): HostPattern {
  const entry = text.trim().toLowerCase();
  if (entry === '*') return { host: '*', kind: 'any' };
  const m = /^(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(entry);
  const port = m?.[3] === undefined ? undefined : Number(m[3]);
  if (!m || (port !== undefined && (port < 1 || port > 65535)))
    throw new Error(`${JSON.stringify(text)} is not a host, host:port or *.domain pattern`);
  const host = bareHost(m[2] as string);
  if (m[1]) return { host: `.${host}`, kind: 'suffix', port };
  // Through the URL parser, so that `127.1` in the list means what `http://127.1/` means.
  let normal: string;
  try {
    normal = bareHost(new URL(`http://${m[2]}/`).hostname);
  } catch {
    throw new Error(`${JSON.stringify(text)} is not a valid host`);
  }
  return { host: normal, kind: 'exact', port };
}

export function outboundPolicy(rules: OutboundRules): OutboundPolicy {
  const privateAllowed = new BlockList();
  for (const entry of rules.allowPrivate) {
    const { address, prefix, family } = parseCidr(entry);
    privateAllowed.addSubnet(address, prefix, family);
  }
  return { hosts: rules.allow.map(parseHostPattern), privateAllowed };
}

/** The URL's form and host against the allow-list; addresses come after resolution. */
export function checkUrl(policy: OutboundPolicy, text: string): Checked<OutboundTarget> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'is not an absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: 'must use http or https' };
  if (url.username || url.password) return { ok: false, reason: 'must not carry a user name or password' };
  const host = bareHost(url.hostname);
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const matches = policy.hosts.filter((p) => hostMatches(p, host, port));
  if (matches.length === 0) {
    return {
      ok: false,
      reason: `host ${host}:${port} is not in OUTBOUND_ALLOW (${policy.hosts.length ? 'which lists other hosts' : 'which is empty'})`,
    };
  }
  const version = isIP(host);
  const literal = version === 4 || version === 6 ? version : 0;
  return { ok: true, value: { url, host, port, literal, named: matches.some((p) => p.kind !== 'any') } };
}

/** The name of the non-public range an address is in, or undefined for a public address. */
export function specialRange(address: string): string | undefined {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return special.find((r) => r.list.check(address, family))?.name;
}

/**
 * Every address a host resolves to must be public or allowed: a name with one private
 * address among public ones is refused, since a client may pick any of them. Gives the
 * address to connect to, so that the connection goes where the check looked.
 */
export function checkAddresses(
  policy: OutboundPolicy,
  target: OutboundTarget,
  addresses: readonly { address: string; family: number }[],
): Checked<{ address: string; family: 4 | 6 }> {
  if (addresses.length === 0) return { ok: false, reason: `host ${target.host} resolves to no address` };
  for (const { address } of addresses) {
    const range = specialRange(address);
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (range && !policy.privateAllowed.check(address, family)) {
      const via = address === target.host ? '' : `host ${target.host} resolves to `;
      return {
        ok: false,
        reason: `${via}${address}, a ${range} address, which OUTBOUND_ALLOW_PRIVATE does not allow`,
      };
    }
  }
  const first = addresses[0] as { address: string };
  return { ok: true, value: { address: first.address, family: isIP(first.address) === 6 ? 6 : 4 } };
}

function hostMatches(p: HostPattern, host: string, port: number): boolean {
  if (p.port !== undefined && p.port !== port) return false;
  if (p.kind === 'any') return true;
  if (p.kind === 'suffix') return host.endsWith(p.host) && host.length > p.host.length;
  return host === p.host;
}

/** `[::1]` → `::1`, `localhost.` → `localhost`: one spelling per host for matching and connecting. */
function bareHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}
