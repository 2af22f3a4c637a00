import type { Response } from 'express';

/** When the answer to this request is due (epoch ms), set on arrival by api/response-deadline.ts. */
export function deadlineOf(res: Response): number | undefined {
  return res.locals.deadline as number | undefined;
}

/**
 * How far ahead of the deadline the backstop answers, so that its 503, written on an event
 * loop that may lag by some tens of milliseconds under load, still arrives within it.
 */
export const backstopMarginMs = (deadlineMs: number) => Math.min(100, deadlineMs / 20);

export function setDeadline(res: Response, at: number): void {
  res.locals.deadline = at;
}

/** Whether the deadline answered 503 before the handler did; the handler's own answer then goes nowhere. */
export function answeredLate(res: Response): boolean {
  return res.locals.answeredLate === true;
}

export function markAnsweredLate(res: Response): void {
  res.locals.answeredLate = true;
}

/** What the deadline's 503 says instead of its bare detail, with fields a client acts on (an update's id). */
export interface LateAnswer {
  detail: string;
  extensions: Record<string, unknown>;
}

/**
 * Set by a handler whose work a client may need to follow or resend: if the deadline
 * answers before the handler does, the 503 still names it (api/updates/send.ts).
 */
export function setLateAnswer(res: Response, late: LateAnswer): void {
  res.locals.lateAnswer = late;
}

export function lateAnswerOf(res: Response): LateAnswer | undefined {
  return res.locals.lateAnswer as LateAnswer | undefined;
}
