import type { RequestHandler } from 'express';
import { notFoundHandler } from '../problem';
import { sendProblem } from '../problem';

/**
 * Request targets the routes are not asked to interpret. An absolute-form target
 * (`GET http://host/api/v1/...`, meant for proxies) is refused before anything reads it,
 * so no part of the app sees a URL whose path Express and the rest disagree on. A path
 * ending in `/` names no route: routing is strict, and this answers the collections'
 * trailing slash, which a router mounted at a prefix would otherwise serve.
 */
export const refuseAbsoluteForm: RequestHandler = (req, res, next) => {
  if (req.url.startsWith('/')) return next();
  sendProblem(res, {
    type: 'about:blank#ValidationError',
    title: 'ValidationError',
    status: 400,
    detail: 'the request target must be a path (origin-form, starting with /), not an absolute URL or *',
  });
};

export const refuseTrailingSlash: RequestHandler = (req, res, next) =>
  req.path.length > 1 && req.path.endsWith('/') ? notFoundHandler(req, res, next) : next();
