import type { Request, RequestHandler, Response } from 'express';
import { allScopes, bearerToken, parseKey } from '../../lib/access/keys';
import { anyApiKey } from '../../store/access/api-keys';
import { sameBytes } from '../../store/access/secrets';
import { countUse } from '../../store/access/usage';
import type { ApiContext } from '../context';
import { sendProblem, type Problem } from '../problem';
import type { FailureCharge } from './failed-auth';
import { createRateLimiter } from './rate-limit';
import { isLoopback } from './exposure';
import { setPrincipal } from './principal';
import { redactedUrl } from './redact-url';
import { createKeyVerifier } from './verify-key';

/**
 * Who asks, checked before a byte of the body is read: a `<prefix>.<secret>` key from
 * `api_keys`, or the local stack's API_TOKEN (every scope, no rate limit). Until a key
 * exists and while no token is set, the API serves loopback only and lets requests
 * through without a key (api/access/exposure.ts refuses to start it anywhere else).
 */

export type { Principal } from './principal';

const realm = 'Bearer realm="orchestrator"';
/** How often an open API looks again for a first key; once one exists it stays closed. */
const recheckMs = 5_000;

function refuse(req: Request, res: Response, status: number, title: string, detail: string, extra = {}): void {
  const p: Problem = {
    type: `about:blank#${title}`,
    title,
    status,
    detail,
    instance: redactedUrl(req.originalUrl),
    requestId: String(req.id ?? ''),
    ...extra,
  };
  if (status === 401) res.setHeader('WWW-Authenticate', realm);
  req.log?.info({ status, detail }, 'request refused');
  sendProblem(res, p);
}

/** Too many failed authentications from this address or for this prefix: no hashing until the window turns. */
function refuseFailures(req: Request, res: Response, charge: FailureCharge): void {
  res.setHeader('RateLimit-Limit', String(charge.limit));
  res.setHeader('RateLimit-Remaining', '0');
  res.setHeader('RateLimit-Reset', String(charge.resetSeconds));
  refuse(req, res, 429, 'TooManyRequests', `too many failed authentications; retry in ${charge.retryAfterSeconds}s`, {
    retryAfter: charge.retryAfterSeconds,
  });
}

export function apiAccess(ctx: ApiContext): RequestHandler {
  const token = ctx.config.api.token ? Buffer.from(ctx.config.api.token) : undefined;
  const limiter = createRateLimiter(ctx.redis, {
    onRedisDown: ctx.config.api.rateLimitOnRedisDown,
    registry: ctx.metrics.registry,
  });
  let closed = !!token || !isLoopback(ctx.config.api.host) || ctx.keysAtStart === true;
  let checkedAt = Date.now();
  let refreshing: Promise<boolean> | undefined;
  // A database that cannot answer keeps the last answer: the API is on loopback while open.
  const refresh = () =>
    (refreshing ??= anyApiKey(ctx.pool)
      .then(
        (any) => (closed ||= any),
        () => closed,
      )
      .finally(() => {
        checkedAt = Date.now();
        refreshing = undefined;
      }));
  // Without the start's answer (an app a test builds), the first request waits for one.
  let first: Promise<boolean> | undefined = ctx.keysAtStart === undefined && !closed ? refresh() : undefined;
  const isClosed = async (): Promise<boolean> => {
    if (closed) return true;
    if (first) {
      await first;
      first = undefined;
      return closed;
    }
    // Later looks run beside the requests, so an open API never waits on Postgres for them.
    if (Date.now() - checkedAt >= recheckMs) void refresh();
    return closed;
  };

  const verify = createKeyVerifier(ctx);
  const lookup = async (req: Request, prefix: string, secret: string) =>
    verify(prefix, secret, req.ip ?? req.socket.remoteAddress ?? 'unknown');

  return async (req, res, next) => {
    try {
      // Open (loopback, nothing to check a credential against): whatever is sent is let through.
      if (!(await isClosed())) {
        setPrincipal(res, { prefix: 'open', scopes: [allScopes] });
        return next();
      }
      const given = bearerToken(req.headers.authorization);
      if (!given)
        return refuse(req, res, 401, 'Unauthorized', 'send an API key: Authorization: Bearer <prefix>.<secret>');
      // The scope each route needs is checked by the route's own guard (api/access/routes.ts).
      if (token && sameBytes(Buffer.from(given), token)) {
        setPrincipal(res, { prefix: 'API_TOKEN', scopes: [allScopes] });
        return next();
      }
      const presented = parseKey(given);
      const verdict = presented ? await lookup(req, presented.prefix, presented.secret) : undefined;
      if (verdict?.kind === 'limited') return refuseFailures(req, res, verdict.charge);
      const key = verdict?.kind === 'key' ? verdict.key : undefined;
      if (!key) return refuse(req, res, 401, 'Unauthorized', 'the bearer credential is not a valid API key');
      if (key.revokedAt) return refuse(req, res, 401, 'Unauthorized', `API key ${presented!.prefix} has been revoked`);
      if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now())
        return refuse(req, res, 401, 'Unauthorized', `API key ${key.prefix} expired at ${key.expiresAt}`);

      const rate = await limiter.take(key.prefix, key.tier);
      if ('redisDown' in rate) {
        if (!rate.allowed)
          return refuse(req, res, 503, 'Unavailable', 'the rate limiter cannot reach Redis', { retryAfter: 5 });
      } else {
        res.setHeader('RateLimit-Limit', String(rate.limit));
        res.setHeader('RateLimit-Remaining', String(rate.remaining));
        res.setHeader('RateLimit-Reset', String(rate.resetSeconds));
        if (!rate.allowed)
          return refuse(
            req,
            res,
            429,
            'TooManyRequests',
            `API key ${key.prefix} (tier ${key.tier}) has spent its burst of ${rate.limit}; retry in ${rate.retryAfterSeconds}s`,
            { retryAfter: rate.retryAfterSeconds },
          );
      }
      setPrincipal(res, { prefix: key.prefix, scopes: key.scopes, tier: key.tier });
      countUse(ctx.redis, key.prefix, new Date()).catch((err: unknown) =>
        req.log?.debug({ err: String(err) }, 'key usage not counted'),
      );
      next();
    } catch (err) {
      next(err);
    }
  };
}
