import type { RequestHandler, Response } from 'express';
import { redactedUrl } from './access/redact-url';
import { busyProblem, sendProblem } from './problem';
import { backstopMarginMs, lateAnswerOf, markAnsweredLate, setDeadline } from './request-deadline';

/**
 * The promise every request keeps: an answer within the API's deadline. Each dependency
 * has its own bound (api/deadline.ts for Temporal, the pool's and Redis's timeouts), but
 * a request that calls two in turn, or waited for admission first, can add them up past
 * the deadline; so whatever has not answered just before it gets a 503 with Retry-After here.
 * The handler carries on until its dependency's own timeout; its late answer is dropped
 * (problemHandler sees it was answered late and does not report a bug). A handler that
 * set a late answer (request-deadline.ts) has the 503 name its work, as its own would.
 */
export function responseDeadline(ms: number, onLate: (res: Response) => void): RequestHandler {
  return (req, res, next) => {
    setDeadline(res, Date.now() + ms);
    const timer = setTimeout(
      () => {
        if (res.headersSent) return;
        markAnsweredLate(res);
        onLate(res);
        const late = lateAnswerOf(res);
        const busy = busyProblem(
          late?.detail ?? `the API could not answer within its ${ms} ms deadline; retry shortly`,
          redactedUrl(req.originalUrl),
          String(req.id ?? ''),
        );
        sendProblem(res, { ...late?.extensions, ...busy });
      },
      ms - backstopMarginMs(ms),
    );
    res.once('close', () => clearTimeout(timer));
    next();
  };
}
