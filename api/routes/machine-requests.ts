import { z } from 'zod';
import { validationError } from '../../lib/errors';
import { operationNames, type OperationName } from '../../lib/vm/contract';
import { machineNameSchema } from '../../lib/vm/names';
import { metadataSchema, operationArgsSchemas, runStrategySchema, safeText } from '../../lib/vm/validate';
import { decodePageToken, encodePageToken, pageTokenParam } from '../page-token';
import { updateIdParam } from '../updates/openapi';

/**
 * What the machine routes accept, as zod schemas. Every field a user gives is checked
 * here, before a row is written or a workflow started, so a name or a description that
 * tries to inject XML or a virsh option is a 400 and never reaches libvirt.
 */

export type Action = Exclude<OperationName, 'delete'>;

export const actions = operationNames.filter((op): op is Action => op !== 'delete');

export const idParams = z.object({ id: z.string().regex(/^\d{1,18}$/, 'a numeric machine id') });

export const actionParams = idParams.extend({
  action: z.enum(actions as [Action, ...Action[]], {
    errorMap: () => ({ message: `action must be one of ${actions.join(', ')}` }),
  }),
});

export const updateParams = idParams.extend({ updateId: updateIdParam });

export const actionBody = (action: OperationName) => operationArgsSchemas[action];

const ownerSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'owner must be 1-128 letters, digits and . _ @ -');

export const createBody = z
  .object({
    name: machineNameSchema,
    templateId: z.union([z.string().regex(/^\d{1,18}$/), z.number().int().positive()], {
      errorMap: () => ({ message: 'templateId must be the numeric id of a machine template' }),
    }),
    runStrategy: runStrategySchema.default('Manual'),
    owner: ownerSchema.optional(),
    description: safeText('description', 1000).optional(),
    metadata: metadataSchema.optional(),
  })
  .strict();

export const listQuery = z
  .object({
    status: z.enum(['provisioning', 'ready', 'failed', 'deleting', 'deleted']).optional(),
    runStrategy: runStrategySchema.optional(),
    templateId: z
      .string()
      .regex(/^\d{1,18}$/, 'templateId must be numeric')
      .optional(),
    // The rule of the owners a machine can have: a filter outside it would match nothing anyway.
    owner: ownerSchema.optional(),
    namePrefix: z
      .string()
      .regex(/^[a-z0-9-]{1,63}$/, 'namePrefix must be lowercase letters, digits and hyphens')
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    pageToken: pageTokenParam,
  })
  .strict();

/** The keyset cursor (the last machine id of a page), wrapped and checked like every page token. */
export const machinePageToken = {
  encode: (after: string) => encodePageToken(after, 'machines'),
  decode(token: string): string {
    const after = decodePageToken(token, 'machines').toString('utf8');
    if (!/^\d{1,18}$/.test(after)) throw validationError('pageToken is not a nextPageToken this API issued');
    return after;
  },
};
