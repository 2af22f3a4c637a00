import { WorkflowNotFoundError } from '@temporalio/client';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { notFound } from '../../lib/errors';
import { orderInput } from '../../lib/cbb/order';
import { getOrder, insertOrder, listEvents, type OrderRecord } from '../../store/cbb/orders';
import { toE164 } from '../../lib/cbb/phone';
import { workflowUiUrl } from '../../lib/infra/temporal';
import {
  cbbSyncStartOptions,
  cbbSyncWorkflowId,
  cbbSyncWorkflowType,
  type CbbSyncWorkflow,
} from '../../lib/cbb/contract';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody, registry } from '../openapi';
import { startOptions } from '../start-options';
import { parse } from '../validate';

/** Orders: create one (and start its CBB sync), read it with its sync state, sync it again. */

const createBody = orderInput.superRefine((o, ctx) => {
  if (!toE164(o.phone))
    ctx.addIssue({
      code: 'custom',
      path: ['phone'],
      message: `${JSON.stringify(o.phone)} is not a valid phone number`,
    });
});
const idParams = z.object({ id: z.string().regex(/^\d{1,18}$/, 'a numeric order id') });

registry.registerPath({
  method: 'post',
  path: '/api/v1/orders',
  summary: 'Create an order and start its CBB sync (an order with a known external id returns 200 and joins its sync)',
  request: jsonBody(orderInput),
  responses: {
    201: json(anyObject, 'Created; `workflow` links to its sync'),
    200: json(anyObject, 'Already known'),
    400: errorResponses[400],
  },
});
registry.registerPath({
  method: 'get',
  path: '/api/v1/orders/{id}',
  summary: 'An order with its CBB sync state, WhatsApp confirmation, audit events and workflow link',
  request: { params: idParams },
  responses: { 200: json(anyObject), 404: errorResponses[404] },
});
registry.registerPath({
  method: 'post',
  path: '/api/v1/orders/{id}/resync',
  summary: 'Sync the order to CBB again (joins a sync already running)',
  request: { params: idParams },
  responses: { 202: json(anyObject), 404: errorResponses[404] },
});

/** Starts the order's sync, or joins the one already running under the same id. */
export async function startOrderSync(ctx: ApiContext, req: Request, orderId: string) {
  const options = cbbSyncStartOptions(orderId, 'api');
  const { workflowId } = options;
  const handle = await ctx.client.workflow.start<CbbSyncWorkflow>(cbbSyncWorkflowType, {
    ...startOptions(ctx, req),
    ...options,
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  ctx.metrics.started.inc({ type: 'cbbSyncOrder' });
  return {
    workflowId,
    runId: handle.firstExecutionRunId,
    webUiUrl: workflowUiUrl(ctx.config, workflowId, handle.firstExecutionRunId),
  };
}

/** The order's last sync run, when there is one. */
async function endedSync(ctx: ApiContext, orderId: string) {
  const workflowId = cbbSyncWorkflowId(orderId);
  try {
    const { runId } = await ctx.client.workflow.getHandle(workflowId).describe();
    return { workflowId, runId, webUiUrl: workflowUiUrl(ctx.config, workflowId, runId) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

function view(o: OrderRecord) {
  return {
    id: o.id,
    externalId: o.externalId,
    branch: o.branch,
    isTest: o.isTest,
    customerName: o.customerName,
    email: o.email,
    phone: o.phone,
    whatsappAlerts: o.whatsappAlerts,
    visa: { country: o.visaCountry, type: o.visaType, quantity: o.visaQuantity, entryDate: o.entryDate },
    amount: o.amount === null ? null : Number(o.amount),
    currency: o.currency,
    urgency: o.urgency,
    createdAt: o.createdAt,
    sync: {
      status: o.cbbStatus,
      synced: o.cbbSynced,
      contactId: o.cbbContactId,
      syncedAt: o.cbbSyncedAt,
      attempts: o.cbbAttempts,
      reason: o.cbbLastError,
    },
    whatsappConfirmation: { status: o.whatsappStatus, sentAt: o.whatsappSentAt, reason: o.whatsappReason },
  };
}

export function orderRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const input = parse(createBody, req.body ?? {});
    // The row is the source of truth: if starting the sync fails below, the sweep starts it later.
    const { order, created } = await insertOrder(ctx.pool, input);
    // Posting an order again joins its sync: one that has ended is not run again (POST …/resync does that).
    const workflow =
      created || order.cbbStatus === 'pending'
        ? await startOrderSync(ctx, req, order.id)
        : ((await endedSync(ctx, order.id)) ?? (await startOrderSync(ctx, req, order.id)));
    res
      .status(created ? 201 : 200)
      .location(`/api/v1/orders/${order.id}`)
      .json({ order: view(order), created, workflow });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const order = await getOrder(ctx.pool, id);
    if (!order) throw notFound(`order ${id} does not exist`);
    const workflowId = cbbSyncWorkflowId(id);
    const workflow = await ctx.client.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        (d) => ({
          workflowId,
          runId: d.runId,
          status: d.status.name,
          webUiUrl: workflowUiUrl(ctx.config, workflowId, d.runId),
        }),
        (err) => {
          if (err instanceof WorkflowNotFoundError)
            return { workflowId, status: 'NOT_STARTED', webUiUrl: workflowUiUrl(ctx.config, workflowId) };
          throw err;
        },
      );
    const events = await listEvents(ctx.pool, id);
    res.json({ ...view(order), workflow, events });
  });

  router.post('/:id/resync', async (req, res) => {
    const { id } = parse(idParams, req.params);
    if (!(await getOrder(ctx.pool, id))) throw notFound(`order ${id} does not exist`);
    res.status(202).json({ orderId: id, workflow: await startOrderSync(ctx, req, id) });
  });

  return router;
}
