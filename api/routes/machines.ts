import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type WorkflowHandle,
} from '@temporalio/client';
import DataLoader from 'dataloader';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { AppError, conflict, errorMessage, notFound, validationError } from '../../lib/errors';
import { workflowUiUrl } from '../../lib/infra/temporal';
import {
  operationNames,
  operationUpdates,
  vmStartOptions,
  vmWorkflowId,
  vmWorkflowType,
  type OperationName,
  type OperationResult,
  type VmLifecycleWorkflow,
} from '../../lib/vm/contract';
import { vmErrorCodes, vmErrorKinds, type VmErrorCode } from '../../lib/vm/errors';
import { machineNameSchema } from '../../lib/vm/names';
import { allowedOperations } from '../../lib/vm/transitions';
import {
  machineSpecSchema,
  metadataSchema,
  operationArgsSchemas,
  runStrategySchema,
  safeText,
} from '../../lib/vm/validate';
import { listEvents } from '../../store/vm/events';
import {
  forgetMachine,
  getMachine,
  insertMachine,
  listMachines,
  listSnapshots,
  updateMachine,
  type MachineRecord,
} from '../../store/vm/machines';
import { getTemplate, getTemplates, type TemplateRecord } from '../../store/vm/templates';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody, registry } from '../openapi';
import { startOptions } from '../start-options';
import { parse } from '../validate';
import { templateView } from './machine-templates';
import { decodePageToken, encodePageToken, pageTokenPattern } from '../page-token';

/**
 * Machines: create one from a template (its workflow defines and starts it), list and
 * read them with their events, ask for operations, delete. Every field a user gives is
 * validated here, before a row is written or a workflow started, so a name or a
 * description that tries to inject XML or a virsh option is a 400 and never reaches
 * libvirt. Operations are the workflow's updates: a request the machine's state cannot
 * take is refused by the update's validator, at once, as a 409 with the reason.
 */

const idParams = z.object({ id: z.string().regex(/^\d{1,18}$/, 'a numeric machine id') });
const actions = operationNames.filter((op) => op !== 'delete') as Exclude<OperationName, 'delete'>[];
const actionParams = idParams.extend({
  action: z.enum(actions as [Exclude<OperationName, 'delete'>, ...Exclude<OperationName, 'delete'>[]], {
    errorMap: () => ({ message: `action must be one of ${actions.join(', ')}` }),
  }),
});

const createBody = z
  .object({
    name: machineNameSchema,
    templateId: z.union([z.string().regex(/^\d{1,18}$/), z.number().int().positive()], {
      errorMap: () => ({ message: 'templateId must be the numeric id of a machine template' }),
    }),
    runStrategy: runStrategySchema.default('Manual'),
    owner: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'owner must be 1-128 letters, digits and . _ @ -')
      .optional(),
    description: safeText('description', 1000).optional(),
    metadata: metadataSchema.optional(),
  })
  .strict();

/** The keyset cursor (the last machine id of a page), wrapped and checked like every page token. */
const pageToken = {
  encode: (after: string) => encodePageToken(after, 'machines'),
  decode(token: string): string {
    const after = decodePageToken(token, 'machines').toString('utf8');
    if (!/^\d{1,18}$/.test(after)) throw validationError('pageToken is not a nextPageToken this API issued');
    return after;
  },
};

const listQuery = z
  .object({
    status: z.enum(['provisioning', 'ready', 'failed', 'deleting', 'deleted']).optional(),
    runStrategy: runStrategySchema.optional(),
    templateId: z
      .string()
      .regex(/^\d{1,18}$/, 'templateId must be numeric')
      .optional(),
    owner: z.string().max(128).optional(),
    namePrefix: z
      .string()
      .regex(/^[a-z0-9-]{1,63}$/, 'namePrefix must be lowercase letters, digits and hyphens')
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    pageToken: z
      .string()
      .max(200)
      .regex(pageTokenPattern, 'the nextPageToken of the previous page, as given')
      .optional(),
  })
  .strict();

const actionBody = (action: OperationName) => operationArgsSchemas[action];

const machinePath = '/api/v1/machines/{id}';
registry.registerPath({
  method: 'post',
  path: '/api/v1/machines',
  summary: 'Create a machine from a template; its workflow vm-<id> defines and starts it (Halted: defines only)',
  request: jsonBody(createBody),
  responses: {
    201: json(anyObject, 'Created; `workflow` links to its vmLifecycle workflow in the Web UI'),
    400: errorResponses[400],
    409: errorResponses[409],
    415: errorResponses[415],
    503: errorResponses[503],
  },
});
registry.registerPath({
  method: 'get',
  path: '/api/v1/machines',
  summary: 'Machines, filtered and paged (`nextPageToken` fetches the next page), each with its template',
  request: { query: listQuery },
  responses: { 200: json(anyObject), 400: errorResponses[400] },
});
registry.registerPath({
  method: 'get',
  path: machinePath,
  summary: 'A machine with its template, snapshots, recent events, allowed actions and Web UI link',
  request: { params: idParams },
  responses: { 200: json(anyObject), 404: errorResponses[404] },
});
registry.registerPath({
  method: 'post',
  path: `${machinePath}/actions/{action}`,
  summary:
    'Run an operation: start, shutdown ({timeoutSeconds}), destroy, reboot, suspend, resume, snapshot ({name, description}), revert ({snapshot}), resize ({memoryMiB, vcpus})',
  request: { params: actionParams, ...jsonBody(anyObject) },
  responses: {
    200: json(anyObject, 'Done; the state libvirt reports afterwards'),
    202: json(anyObject, 'Accepted and queued behind earlier operations; the machine shows its progress'),
    400: errorResponses[400],
    404: errorResponses[404],
    409: errorResponses[409],
    503: errorResponses[503],
  },
});
registry.registerPath({
  method: 'delete',
  path: machinePath,
  summary: 'Delete a machine: destroy and undefine its domain, mark it deleted; its workflow ends',
  request: { params: idParams },
  responses: {
    200: json(anyObject),
    202: json(anyObject),
    404: errorResponses[404],
    409: errorResponses[409],
    503: errorResponses[503],
  },
});

function view(m: MachineRecord) {
  return {
    id: m.id,
    name: m.name,
    templateId: m.templateId,
    owner: m.owner,
    description: m.description,
    metadata: m.metadata,
    runStrategy: m.runStrategy,
    status: m.status,
    desiredState: m.desiredState,
    observedState: m.observedState,
    stateReason: m.stateReason,
    libvirtUuid: m.libvirtUuid,
    lastError: m.lastError,
    observedAt: m.observedAt,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    deletedAt: m.deletedAt,
  };
}

/** An operation that failed once running: its VM error code decides the status, as everywhere else. */
function fromUpdateFailure(err: WorkflowUpdateFailedError): AppError {
  const cause = err.cause as (Error & { type?: string }) | undefined;
  const message = cause?.message ?? err.message;
  const code = (vmErrorCodes as readonly string[]).includes(cause?.type ?? '')
    ? (cause?.type as VmErrorCode)
    : undefined;
  if (!code) return conflict(message);
  return new AppError(vmErrorKinds[code].type, message, { code, severity: vmErrorKinds[code].severity });
}

export function machineRoutes(ctx: ApiContext): Router {
  const router = Router();

  async function machineOr404(id: string): Promise<MachineRecord> {
    const m = await getMachine(ctx.pool, id);
    if (!m) throw notFound(`machine ${id} does not exist`);
    return m;
  }

  /**
   * Sends the operation as an update. Accepted or refused is known at once; the result is
   * awaited for half the request's deadline, after which the answer is 202 and the
   * operation goes on in its turn.
   */
  async function operate(machine: MachineRecord, op: OperationName, args: unknown, req: Request) {
    const handle = ctx.client.workflow.getHandle(vmWorkflowId(machine.id));
    const started = Date.now();
    const update = await handle.startUpdate(operationUpdates[op] as typeof operationUpdates.start, {
      args: [args as never],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    const waitMs = Math.max(0, ctx.config.api.deadlineMs / 2 - (Date.now() - started));
    const outcome = await Promise.race([
      update.result().then(
        (result: OperationResult) => ({ result }),
        (error: unknown) => ({ error }),
      ),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), waitMs).unref()),
    ]);
    if (!outcome) {
      req.log.info({ machineId: machine.id, op, updateId: update.updateId }, 'operation accepted, still running');
      return {
        status: 202,
        body: { machineId: machine.id, operation: op, updateId: update.updateId, status: 'accepted' },
      };
    }
    if ('error' in outcome) {
      throw outcome.error instanceof WorkflowUpdateFailedError ? fromUpdateFailure(outcome.error) : outcome.error;
    }
    const fresh = await machineOr404(machine.id);
    return {
      status: 200,
      body: { machineId: machine.id, operation: op, result: outcome.result, machine: view(fresh) },
    };
  }

  function refuseIfClosed(m: MachineRecord, op: OperationName): void {
    if (m.status === 'deleted') throw notFound(`machine ${m.id} (${m.name}) was deleted at ${m.deletedAt}`);
    if (m.status === 'failed' && op !== 'delete') {
      throw conflict(
        `${op} refused: machine ${m.name} failed to provision (${m.lastError}); delete it and create it again`,
      );
    }
  }

  router.post('/', async (req, res) => {
    const body = parse(createBody, req.body ?? {});
    const template = await getTemplate(ctx.pool, String(body.templateId));
    if (!template) throw validationError(`templateId ${body.templateId} is not a machine template`);
    const machine = await insertMachine(ctx.pool, { ...body, templateId: template.id });
    if (!machine) throw conflict(`a machine named ${JSON.stringify(body.name)} exists already`);
    const spec = machineSpecSchema.parse({
      machineId: machine.id,
      name: machine.name,
      description: body.description,
      metadata: body.metadata,
      runStrategy: machine.runStrategy,
      template: template.template,
    });
    const options = vmStartOptions({ spec, uuid: machine.libvirtUuid }, template.name);
    try {
      const handle = await ctx.client.workflow.start<VmLifecycleWorkflow>(vmWorkflowType, {
        ...startOptions(ctx, req),
        ...options,
      });
      ctx.metrics.started.inc({ type: vmWorkflowType });
      res
        .status(201)
        .location(`/api/v1/machines/${machine.id}`)
        .json({
          machine: view(machine),
          template: templateView(template),
          workflow: {
            workflowId: options.workflowId,
            runId: handle.firstExecutionRunId,
            webUiUrl: workflowUiUrl(ctx.config, options.workflowId, handle.firstExecutionRunId),
          },
        });
    } catch (err) {
      // Nothing was defined: the row goes, so the name is free for the retry the 503 invites.
      req.log.warn({ machineId: machine.id, err: errorMessage(err) }, 'machine workflow not started; row removed');
      await forgetMachine(ctx.pool, machine.id);
      throw err;
    }
  });

  router.get('/', async (req, res) => {
    const q = parse(listQuery, req.query);
    const { machines, more } = await listMachines(ctx.pool, {
      status: q.status,
      runStrategy: q.runStrategy,
      templateId: q.templateId,
      owner: q.owner,
      namePrefix: q.namePrefix,
      after: q.pageToken ? pageToken.decode(q.pageToken) : undefined,
      limit: q.limit,
    });
    // One query for the page's templates, however many machines share them.
    const templates = new DataLoader<string, TemplateRecord | undefined>((ids) => getTemplates(ctx.pool, ids));
    const withTemplates = await Promise.all(
      machines.map(async (m) => {
        const t = await templates.load(m.templateId);
        return { ...view(m), template: t ? templateView(t) : null };
      }),
    );
    res.json({
      machines: withTemplates,
      nextPageToken: more ? pageToken.encode(machines[machines.length - 1].id) : null,
    });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const m = await machineOr404(id);
    const workflowId = vmWorkflowId(id);
    const [template, snapshots, events, workflow] = await Promise.all([
      getTemplate(ctx.pool, m.templateId),
      listSnapshots(ctx.pool, id),
      listEvents(ctx.pool, id, 20),
      describe(ctx.client.workflow.getHandle(workflowId)),
    ]);
    res.json({
      ...view(m),
      template: template ? templateView(template) : null,
      allowedActions: m.status === 'ready' ? allowedOperations(m.observedState, actions) : [],
      snapshots,
      events,
      workflow: { workflowId, ...workflow, webUiUrl: workflowUiUrl(ctx.config, workflowId, workflow.runId) },
    });
  });

  router.post('/:id/actions/:action', async (req, res) => {
    const { id, action } = parse(actionParams, req.params);
    const args = parse(actionBody(action), req.body ?? {});
    const m = await machineOr404(id);
    refuseIfClosed(m, action);
    const { status, body } = await operate(m, action, args, req);
    res.status(status).json(body);
  });

  router.delete('/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const m = await machineOr404(id);
    refuseIfClosed(m, 'delete');
    if (m.status === 'failed') {
      // Its workflow ended after removing the domain: there is nothing left to undo.
      await updateMachine(ctx.pool, id, { status: 'deleted', desiredState: 'deleted' });
      res.json({ machineId: id, operation: 'delete', machine: view(await machineOr404(id)) });
      return;
    }
    const { status, body } = await operate(m, 'delete', {}, req);
    res.status(status).json(body);
  });

  async function describe(handle: WorkflowHandle): Promise<{ status: string; runId?: string }> {
    try {
      const d = await handle.describe();
      return { status: d.status.name, runId: d.runId };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { status: 'NOT_FOUND' };
      throw err;
    }
  }

  return router;
}
