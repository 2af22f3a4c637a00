import { OpenAPIRegistry, OpenApiGeneratorV31, extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z, type ZodTypeAny } from 'zod';

/**
 * The OpenAPI document is generated from the same zod schemas that validate requests,
 * so the two cannot disagree. Each route module registers its paths here.
 */
extendZodWithOpenApi(z);

export const registry = new OpenAPIRegistry();

const problem = registry.register(
  'Problem',
  z.object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    retryAfter: z.number().int().optional(),
  }),
);

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problem } },
});

export const errorResponses = {
  400: problemResponse('Invalid input; `errors` names each field'),
  401: problemResponse(
    'No API key, or one that is unknown, revoked or expired (`WWW-Authenticate: Bearer`); an API with no key and no API_TOKEN serves loopback only and asks for none',
  ),
  403: problemResponse('The API key lacks the scope this operation needs; `scope` names it'),
  404: problemResponse('No such resource'),
  409: problemResponse('Conflicts with the current state'),
  405: problemResponse('The path does not take this method; `Allow` lists those it takes'),
  413: problemResponse('The body is larger than 1 MB'),
  415: problemResponse('The body is not JSON (content-type application/json, UTF-8, no content-encoding)'),
  431: {
    description: 'The request line and headers are over 64 KB together (answered by the HTTP server, without a body)',
  },
  429: {
    ...problemResponse(
      "The key's tier allows no more requests now (a token bucket: the tier's burst, refilled at its rate a minute); `Retry-After` says when to retry",
    ),
    headers: {
      'Retry-After': { description: 'Seconds until a request will be accepted', schema: { type: 'integer' } },
      'RateLimit-Limit': { description: "The key's burst (bucket capacity)", schema: { type: 'integer' } },
      'RateLimit-Remaining': { description: 'Requests the key may still send at once', schema: { type: 'integer' } },
      'RateLimit-Reset': { description: 'Seconds until the bucket is full again', schema: { type: 'integer' } },
    },
  },
  503: problemResponse(
    'A dependency (Temporal, Postgres, Redis, a partner) is unavailable, or the API is at its limit of requests in flight or could not answer within its deadline; `Retry-After` says when to retry',
  ),
};

export const json = (schema: ZodTypeAny, description = 'OK') => ({
  description,
  content: { 'application/json': { schema } },
});

export const jsonBody = (schema: ZodTypeAny, required = true) => ({
  body: { required, content: { 'application/json': { schema } } },
});

/** A loose object for responses whose shape is documented in prose. */
export const anyObject = z.record(z.unknown());

type Operation = { responses?: Record<string, unknown>; parameters?: unknown[]; requestBody?: unknown };

/**
 * Statuses any operation can answer, added where a route did not document them itself,
 * so that the document lists every status the API can return: bad input wherever input
 * is taken, a missing token, a body the API cannot read, a dependency that is down.
 */
function withCommonResponses(doc: ReturnType<OpenApiGeneratorV31['generateDocument']>) {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const op of Object.values(item as Record<string, Operation>)) {
      if (!op || typeof op !== 'object' || !op.responses) continue;
      const add = (status: keyof typeof errorResponses) => {
        op.responses![status] ??= errorResponses[status];
      };
      if (!path.startsWith('/api/')) continue;
      add(401);
      add(431);
      add(403);
      add(429);
      add(503);
      if ((op.parameters?.length ?? 0) > 0 || op.requestBody || path.includes('{')) add(400);
      if (path.includes('{')) add(404);
      if (op.requestBody) {
        add(400);
        add(413);
        add(415);
      }
    }
  }
  return doc;
}

export function openApiDocument(version: string) {
  const doc = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'orchestrator API',
      version,
      description:
        'Starts, controls and inspects the orchestrator’s durable workflows. Errors are RFC 9457 problem documents.',
    },
    servers: [{ url: '/' }],
  });
  return withCommonResponses(doc);
}
