import type { RequestHandler } from 'express';
import { registry } from './openapi';
import { sendProblem } from './problem';

/**
 * Requests the routes cannot serve, refused before any route runs: a body that is not
 * JSON (415, rather than parsing nothing and reporting every field missing) and a
 * method a known path does not take (405 with Allow, rather than 404).
 */

const withBody = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const hasBody = (headers: Record<string, string | string[] | undefined>) =>
  headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;

export const requireJsonBody: RequestHandler = (req, res, next) => {
  if (!withBody.has(req.method) || !hasBody(req.headers) || req.is(['application/json', 'application/*+json'])) {
    return next();
  }
  sendProblem(res, {
    type: 'about:blank#UnsupportedMediaType',
    title: 'UnsupportedMediaType',
    status: 415,
    detail: `the body must be JSON (content-type: application/json), got ${JSON.stringify(req.headers['content-type'] ?? 'no content-type')}`,
    instance: req.originalUrl,
  });
};

interface PathMethods {
  pattern: RegExp;
  methods: Set<string>;
}

let known: PathMethods[] | undefined;

/** The documented paths and their methods: the OpenAPI registry is the route table. */
function pathMethods(): PathMethods[] {
  if (known) return known;
  const byPath = new Map<string, Set<string>>();
  for (const d of registry.definitions) {
    if (d.type !== 'route') continue;
    const methods = byPath.get(d.route.path) ?? new Set<string>();
    methods.add(d.route.method.toUpperCase());
    if (d.route.method === 'get') methods.add('HEAD');
    byPath.set(d.route.path, methods);
  }
  known = [...byPath].map(([path, methods]) => ({
    pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}/?$`),
    methods,
  }));
  return known;
}

/** Placed after every route: a path that exists under other methods is a 405, not a 404. */
export const methodNotAllowed: RequestHandler = (req, res, next) => {
  const methods = new Set(
    pathMethods()
      .filter((p) => p.pattern.test(req.path))
      .flatMap((p) => [...p.methods]),
  );
  if (methods.size === 0 || methods.has(req.method)) return next();
  const allow = [...methods].sort().join(', ');
  res.setHeader('Allow', allow);
  sendProblem(res, {
    type: 'about:blank#MethodNotAllowed',
    title: 'MethodNotAllowed',
    status: 405,
    detail: `${req.method} is not allowed on ${req.path}; allowed: ${allow}`,
    instance: req.originalUrl,
  });
};
