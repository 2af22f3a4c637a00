import { type ApiRouter, apiRouter, registerRoute } from '../access/routes';
import { z } from 'zod';
import { conflict } from '../../lib/errors';
import { templateSchema } from '../../lib/vm/validate';
import { insertTemplate, listTemplates, type TemplateRecord } from '../../store/vm/templates';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import { parse } from '../validate';

/** Machine templates: the sizes, network, OS and boot a new machine is made from. */

export const templateBody = templateSchema
  .extend({
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,62}$/,
        'template name must be 1-63 lowercase letters, digits and hyphens, starting with a letter',
      ),
  })
  .strict();

registerRoute({
  scope: 'machines:write',
  method: 'post',
  path: '/api/v1/machine-templates',
  summary: 'Create a machine template (vCPUs, memory, disk, network, OS, optional direct kernel boot)',
  request: jsonBody(templateBody),
  responses: {
    201: json(anyObject, 'Created'),
    400: errorResponses[400],
    409: errorResponses[409],
    415: errorResponses[415],
  },
});
registerRoute({
  scope: 'machines:read',
  method: 'get',
  path: '/api/v1/machine-templates',
  summary: 'Every machine template',
  responses: { 200: json(anyObject) },
});

export const templateView = (t: TemplateRecord) => ({ id: t.id, name: t.name, ...t.template, createdAt: t.createdAt });

export function machineTemplateRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/machine-templates');

  router.post('/', async (req, res) => {
    const { name, ...template } = parse(templateBody, req.body ?? {});
    const created = await insertTemplate(ctx.pool, name, template);
    if (!created) throw conflict(`a machine template named ${JSON.stringify(name)} exists already`);
    res.status(201).location(`/api/v1/machine-templates/${created.id}`).json(templateView(created));
  });

  router.get('/', async (_req, res) => {
    res.json({ templates: (await listTemplates(ctx.pool)).map(templateView) });
  });

  return router;
}
