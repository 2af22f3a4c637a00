import { type ApiRouter, apiRouter } from '../access/routes';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import DataLoader from 'dataloader';
import { conflict, errorMessage, validationError } from '../../lib/errors';
import { workflowUiUrl } from '../../lib/infra/temporal';
import { vmStartOptions, vmWorkflowId, vmWorkflowType, type VmLifecycleWorkflow } from '../../lib/vm/contract';
import { allowedOperations } from '../../lib/vm/transitions';
import { machineSpecSchema } from '../../lib/vm/validate';
import { listEvents } from '../../store/vm/events';
import { forgetMachine, insertMachine, listMachines, listSnapshots, updateMachine } from '../../store/vm/machines';
import { getTemplate, getTemplates, type TemplateRecord } from '../../store/vm/templates';
import type { ApiContext } from '../context';
import { startWorkflow } from '../start-options';
import { parse } from '../validate';
import { templateView } from './machine-templates';
import { answerOutcome } from '../updates/answer';
import { followUpdate } from '../updates/follow';
import { followLinks } from '../updates/links';
import { followQuery } from '../updates/openapi';
import { machineOr404, machineUpdatesBase, machineView, operate, refuseIfClosed } from './machine-operations';
import {
  actionBody,
  actionParams,
  actions,
  createBody,
  idParams,
  listQuery,
  machinePageToken,
  updateParams,
} from './machine-requests';
import { registerMachinePaths } from './machines-openapi';

/**
 * Machines: create one from a template (its workflow defines and starts it), list and
 * read them with their events, ask for operations, delete. Requests are validated by the
 * schemas of ./machine-requests; operations go to the machine's workflow as updates
 * (./machine-operations).
 */

registerMachinePaths();

async function describe(handle: WorkflowHandle): Promise<{ status: string; runId?: string }> {
  try {
    const d = await handle.describe();
    return { status: d.status.name, runId: d.runId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { status: 'NOT_FOUND' };
    throw err;
  }
}

export function machineRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/machines');

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
      const handle = await startWorkflow<VmLifecycleWorkflow>(ctx, req, vmWorkflowType, options);
      res
        .status(201)
        .location(`/api/v1/machines/${machine.id}`)
        .json({
          machine: machineView(machine),
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
      after: q.pageToken ? machinePageToken.decode(q.pageToken) : undefined,
      limit: q.limit,
    });
    // One query for the page's templates, however many machines share them.
    const templates = new DataLoader<string, TemplateRecord | undefined>((ids) => getTemplates(ctx.pool, ids));
    const withTemplates = await Promise.all(
      machines.map(async (m) => {
        const t = await templates.load(m.templateId);
        return { ...machineView(m), template: t ? templateView(t) : null };
      }),
    );
    res.json({
      machines: withTemplates,
      nextPageToken: more ? machinePageToken.encode(machines[machines.length - 1].id) : null,
    });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const m = await machineOr404(ctx, id);
    const workflowId = vmWorkflowId(id);
    const [template, snapshots, events, workflow] = await Promise.all([
      getTemplate(ctx.pool, m.templateId),
      listSnapshots(ctx.pool, id),
      listEvents(ctx.pool, id, 20),
      describe(ctx.client.workflow.getHandle(workflowId)),
    ]);
    res.json({
      ...machineView(m),
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
    const m = await machineOr404(ctx, id);
    refuseIfClosed(m, action);
    await operate(ctx, m, action, args, req, res);
  });

  router.delete('/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const m = await machineOr404(ctx, id);
    refuseIfClosed(m, 'delete');
    if (m.status === 'failed') {
      // Its workflow ended after removing the domain: there is nothing left to undo.
      await updateMachine(ctx.pool, id, { status: 'deleted', desiredState: 'deleted' });
      res.json({ machineId: id, operation: 'delete', machine: machineView(await machineOr404(ctx, id)) });
      return;
    }
    await operate(ctx, m, 'delete', {}, req, res);
  });

  router.get('/:id/updates/:updateId', async (req, res) => {
    const { id, updateId } = parse(updateParams, req.params);
    const { runId } = parse(followQuery, req.query);
    // A deleted machine's row stays: the outcome of its delete can still be followed.
    await machineOr404(ctx, id);
    const ref = { workflowId: vmWorkflowId(id), runId, updateId };
    const follow = followLinks(`/api/v1/machines/${id}`, machineUpdatesBase(id), updateId, runId);
    answerOutcome(res, ref, await followUpdate(ctx, res, ref), follow);
  });

  return router;
}
