import { z } from 'zod';
import { pageTokenParam } from '../page-token';
import { updateIdParam } from '../updates/openapi';

/**
 * What the generic workflow routes accept, as zod schemas, read by the handlers
 * (./workflows) and the OpenAPI document (./workflows-openapi) alike, so the two cannot
 * disagree. The limits bound what one request can make the API send to Temporal.
 */

export const idParams = z.object({ id: z.string().min(1).max(1000) });
export const nameParams = idParams.extend({
  name: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\w.:-]+$/, 'letters, digits, _ . : -'),
});
export const runQuery = z.object({ runId: z.string().uuid().optional() });
export const updateParams = idParams.extend({ updateId: updateIdParam });
export const argsBody = z.object({ args: z.array(z.unknown()).max(20).default([]) }).strict();
export const listQuery = z.object({
  query: z.string().max(2000).optional(),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
  pageToken: pageTokenParam,
});
export const terminateBody = z.object({ reason: z.string().min(1).max(1000) }).strict();
