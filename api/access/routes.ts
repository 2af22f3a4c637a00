import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import express, { Router, type RequestHandler } from 'express';
import type { Scope } from '../../lib/access/keys';
import { registry } from '../openapi';
import { requireJsonBody } from '../request-shape';
import { mayUse, refuseScope } from './principal';

/**
 * The one place a route under /api is declared and mounted. `registerRoute` puts the route
 * and its scope in the OpenAPI document (`x-required-scope`); `apiRouter` mounts a handler
 * only on a route declared there, behind a guard for that scope, ahead of the body parser,
 * so a key without the scope never gets its body read. Nothing derives a scope from a URL:
 * the route Express matched is the route whose scope was checked.
 */

export const scopeExtension = 'x-required-scope';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
const declared = new Map<string, Scope>();
const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

export type ScopedRouteConfig = RouteConfig & { scope: Scope };

export function registerRoute(config: ScopedRouteConfig): void {
  const { scope, ...route } = config;
  declared.set(routeKey(route.method, route.path), scope);
  registry.registerPath({ ...route, [scopeExtension]: scope });
}

/** The scope a declared route needs; undefined for a route nobody declared. */
export function declaredScope(method: string, path: string): Scope | undefined {
  return declared.get(routeKey(method, path));
}

/** Refuses (403) a caller whose key lacks `scope`; the guard every /api handler stands behind. */
export function requireScope(scope: Scope, route: string): RequestHandler {
  return (req, res, next) => (mayUse(res, scope) ? next() : refuseScope(req, res, scope, route));
}

type Mount = (path: string, ...handlers: RequestHandler[]) => void;

export interface ApiRouter {
  /** The Express router to mount at `base`. */
  readonly express: Router;
  readonly base: string;
  get: Mount;
  post: Mount;
  put: Mount;
  patch: Mount;
  delete: Mount;
}

export interface ApiRouterOptions {
  /** Handlers ahead of the guard: the lean flag route's own authentication. */
  before?: RequestHandler[];
  /** The JSON body limit; 1 MB unless said. */
  jsonLimit?: string;
}

const jsonTypes = ['application/json', 'application/*+json'];

/**
 * A router for the routes under `base` (`/api/v1/orders`): case-sensitive and strict, like
 * the app, so `/Orders` or `/orders/1/` match nothing. Mounting a path that no
 * `registerRoute` declared throws when the app is built: an undeclared route cannot serve.
 */
export function apiRouter(base: string, opts: ApiRouterOptions = {}): ApiRouter {
  const router = Router({ caseSensitive: true, strict: true });
  const body = [requireJsonBody, express.json({ limit: opts.jsonLimit ?? '1mb', type: jsonTypes })];
  const mount =
    (method: Method): Mount =>
    (path, ...handlers) => {
      const documented = `${base}${path === '/' ? '' : path}`.replace(/:(\w+)/g, '{$1}');
      const scope = declaredScope(method, documented);
      if (!scope)
        throw new Error(`${method.toUpperCase()} ${documented} has no declared scope: declare it with registerRoute`);
      const chain = [
        ...(opts.before ?? []),
        requireScope(scope, `${method.toUpperCase()} ${documented}`),
        ...(method === 'get' ? [] : body),
        ...handlers,
      ];
      router.route(path)[method](...chain);
    };
  return {
    express: router,
    base,
    get: mount('get'),
    post: mount('post'),
    put: mount('put'),
    patch: mount('patch'),
    delete: mount('delete'),
  };
}

/** Every /api route of the OpenAPI document that carries no scope: none, or the app does not start. */
export function undeclaredApiRoutes(): string[] {
  return registry.definitions.flatMap((d) =>
    d.type === 'route' && d.route.path.startsWith('/api/') && !declaredScope(d.route.method, d.route.path)
      ? [routeKey(d.route.method, d.route.path)]
      : [],
  );
}
