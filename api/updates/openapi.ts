import { z } from 'zod';
import { anyObject, errorResponses, json } from '../openapi';
import { followAfterSeconds } from './answer';
import { idempotencyHeader } from './update-id';

/** What the routes that send updates, and those that follow them, declare in the OpenAPI document. */

export const updateIdParam = z
  .string()
  .regex(/^[A-Za-z0-9._:~-]{1,300}$/, 'an updateId as a 202 answer gave it')
  .openapi({ description: 'The update id from the 202 answer (`updateId`)' });

export const followQuery = z.object({
  runId: z.string().uuid().optional().openapi({ description: 'The run that holds the update, as the 202 gave it' }),
});

export const idempotencyHeaders = z.object({
  [idempotencyHeader.toLowerCase()]: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional()
    .openapi({
      description:
        'Names the request: a resend with the same key is the same update, which Temporal runs once and answers ' +
        'with the first one’s outcome. Without it each request is a new update.',
    }),
});

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before following the update', schema: { type: 'integer' as const } },
};

/** 202 of a route that sends an update. */
export const pendingResponse = {
  ...json(
    anyObject,
    'Handed over, not answered yet: Temporal holds the update and runs it when a worker takes it (no worker ' +
      'answered within the request deadline). The body gives `status: "pending"`, `workflowId`, `runId`, ' +
      '`updateId`, `stage` (admitted or accepted) and `follow.workflow` / `follow.update`, the URLs to follow ' +
      'it; `Location` is `follow.update`. Do not resend it: it runs once. A 503 means nothing was handed over.',
  ),
  headers: {
    Location: { description: 'Where to follow the update’s outcome', schema: { type: 'string' as const } },
    ...retryAfter,
  },
};

/** 503 of a route that sends an update. */
export const notHandedOverResponse = {
  ...errorResponses[503],
  description:
    'Nothing was handed over: Temporal is unavailable, or does not hold the update; `updateId` names it and ' +
    '`Retry-After` says when to send it again (with the same Idempotency-Key, a resend cannot run it twice)',
};

/** The responses of a route that follows an update. */
export const followResponses = {
  200: json(
    anyObject,
    'The update ended: `status` is `completed` with `result`, or `failed` with `failure` (message and type)',
  ),
  202: {
    ...json(
      anyObject,
      `Still pending: \`status: "pending"\` and its \`stage\`; follow again after Retry-After (${followAfterSeconds} s)`,
    ),
    headers: retryAfter,
  },
  404: {
    ...errorResponses[404],
    description:
      'No such workflow, or Temporal holds no such update: it never arrived, was refused, or was lost by a ' +
      'Temporal restart before a worker took it; send the request again',
  },
};
