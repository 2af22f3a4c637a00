import type { RequestHandler, Response } from 'express';
import type { Logger } from '../lib/infra/logger';
import type { Admission, Refusal } from './admission';
import { redactedUrl } from './access/redact-url';
import { busyProblem, sendProblem } from './problem';

export type ShedReason = Refusal | 'deadline';

/** A shed request is the API working as meant: the access log leaves it to the metric and the summary line. */
export function wasShed(res: Response): boolean {
  return res.locals.shed === true;
}

/**
 * Counts each shed request and says so in the log, but a flood sheds thousands a second:
 * one line per `everyMs` at most, with the count since the last.
 */
export function shedReporter(opts: {
  admission: Pick<Admission, 'inFlight' | 'queued'>;
  count: (reason: ShedReason) => void;
  log: Logger;
  everyMs?: number;
}): (res: Response, reason: ShedReason) => void {
  const everyMs = opts.everyMs ?? 10_000;
  const unlogged: Record<ShedReason, number> = { full: 0, waited: 0, deadline: 0 };
  let loggedAt = 0;
  return (res, reason) => {
    res.locals.shed = true;
    opts.count(reason);
    unlogged[reason]++;
    const now = Date.now();
    if (now - loggedAt < everyMs) return;
    opts.log.warn(
      { shed: { ...unlogged }, inFlight: opts.admission.inFlight, queued: opts.admission.queued },
      'api busy: answering 503 with Retry-After',
    );
    unlogged.full = unlogged.waited = unlogged.deadline = 0;
    loggedAt = now;
  };
}

/** Admits a request, or answers 503 with Retry-After at once when there is no room. */
export function shedLoad(admission: Admission, report: (res: Response, reason: ShedReason) => void): RequestHandler {
  return (req, res, next) => {
    const ticket = admission.enter();
    // 'close' comes once the answer is out or the client has gone: either way the slot is free again.
    res.once('close', () => ticket.leave());
    void ticket.admitted.then((admitted) => {
      if (admitted === true) return next();
      if (res.headersSent || res.destroyed) return;
      report(res, admitted);
      const detail =
        admitted === 'full'
          ? 'the API is at its limit of requests in flight; retry shortly'
          : 'the API stayed at its limit of requests in flight while this request waited; retry shortly';
      sendProblem(res, busyProblem(detail, redactedUrl(req.originalUrl), String(req.id ?? '')));
    });
  };
}
