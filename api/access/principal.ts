import type { Request, Response } from 'express';
import { grants, type Grant, type Scope, type Tier } from '../../lib/access/keys';
import { sendProblem } from '../problem';

/**
 * Who the request is, as api/access/authenticate.ts found it, kept on the response for the
 * scope guards. A request the authentication did not pass holds no principal and is
 * granted nothing.
 */

export interface Principal {
  /** The key's prefix; `API_TOKEN` for the stack's token, `open` while no key exists. */
  prefix: string;
  scopes: Grant[];
  tier?: Tier;
}

export function setPrincipal(res: Response, principal: Principal): void {
  res.locals.principal = principal;
}

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

export function grantsOf(res: Response): readonly Grant[] {
  return principalOf(res)?.scopes ?? [];
}

export function mayUse(res: Response, scope: Scope): boolean {
  return grants(grantsOf(res), scope);
}

/** 403 naming the scope that is missing, in the same words for every route. */
export function refuseScope(req: Request, res: Response, scope: Scope, what?: string): void {
  const who = principalOf(res)?.prefix ?? 'the caller';
  const detail = `API key ${who} lacks the scope ${scope} that ${what ?? `${req.method} ${req.baseUrl}${req.path}`} needs`;
  req.log?.info({ status: 403, detail }, 'request refused');
  sendProblem(res, {
    type: 'about:blank#Forbidden',
    title: 'Forbidden',
    status: 403,
    detail,
    instance: req.originalUrl,
    requestId: String(req.id ?? ''),
    scope,
  });
}
