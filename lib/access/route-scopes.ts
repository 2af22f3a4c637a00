import type { Scope } from './keys';

/**
 * The scope each route needs, by method and the resource under /api/v1: one table, read
 * before the body, so a key without the scope never gets its body parsed. A path outside
 * the table needs a valid key and no scope, so that it can be answered 404.
 */
const byResource: Record<string, { read: Scope; write: Scope }> = {
  orders: { read: 'orders:read', write: 'orders:write' },
  cbb: { read: 'orders:read', write: 'orders:write' },
  migrations: { read: 'migrations:read', write: 'migrations:admin' },
  workflows: { read: 'workflows:read', write: 'workflows:write' },
  analyses: { read: 'analyses:read', write: 'analyses:write' },
  symbols: { read: 'analyses:read', write: 'analyses:write' },
  'self-checks': { read: 'workflows:read', write: 'self-checks:write' },
  schedules: { read: 'schedules:read', write: 'schedules:admin' },
  machines: { read: 'machines:read', write: 'machines:write' },
  'machine-templates': { read: 'machines:read', write: 'machines:write' },
  rollouts: { read: 'rollouts:read', write: 'rollouts:write' },
  flags: { read: 'flags:read', write: 'flags:write' },
};

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `path` is relative to /api, as Express gives it to a middleware mounted there. */
export function requiredScope(method: string, path: string): Scope | undefined {
  const m = /^\/v1\/([^/?]+)/.exec(path);
  const resource = m ? byResource[m[1]] : undefined;
  if (!resource) return undefined;
  if (m![1] === 'flags' && /^\/v1\/flags\/[^/]+\/(evaluate|outcomes)\/?$/.test(path)) return 'flags:evaluate';
  return readMethods.has(method.toUpperCase()) ? resource.read : resource.write;
}
