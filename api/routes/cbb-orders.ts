import { type ApiRouter, apiRouter, registerRoute } from '../access/routes';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Request } from 'express';
import { z } from 'zod';
import { conflict, errorMessage, notFound } from '../../lib/errors';
import { orderDifferences, orderInput } from '../../lib/cbb/order';
import { getOrder, getOrderWithEvents, insertOrder, type OrderRecord } from '../../store/cbb/orders';
import { syncProgressOf, type SyncProgressView } from '../../lib/cbb/sync-progress';
import { toE164 } from '../../lib/cbb/phone';
import { workflowUiUrl } from '../../lib/infra/temporal';
import {
  cbbSyncStartOptions,
  cbbSyncWorkflowId,
  cbbSyncWorkflowType,
  type CbbSyncWorkflow,
} from '../../lib/cbb/contract';
import type { ApiContext } from '../context';
import { anyObject, errorResponses, json, jsonBody } from '../openapi';
import { startWorkflow } from '../start-options';
import { parse } from '../validate';

/**
 * Orders: create one (and start its CBB sync), read it with its sync state, sync it again.
 * A read answers from Postgres alone: the sync's activities keep its progress in the
 * order's row. Temporal's own description of the workflow costs a round trip to the
 * server, so it is given only to a read that asks for it (`?live=true`).
 */

const createBody = orderInput.superRefine((o, ctx) => {
  if (!toE164(o.phone))
    ctx.addIssue({
      code: 'custom',
      path: ['phone'],
      message: `${JSON.stringify(o.phone)} is not a valid phone number`,
    });
});
const idParams = z.object({ id: z.string().regex(/^\d{1,18}$/, 'a numeric order id') });
const readQuery = z.object({
  live: z
    .enum(['true', 'false'])
    .optional()
    .openapi({
      description:
        "`true`: `workflow` is Temporal's description of the sync's latest run (one round trip to Temporal, " +
        'which must be reachable). Absent or `false`: every field comes from the order as the sync recorded it.',
    }),
});

registerRoute({
  scope: 'orders:write',
  method: 'post',
  path: '/api/v1/orders',
  summary: 'Create an order and start its CBB sync',
  request: jsonBody(orderInput),
  responses: {
    201: {
      ...json(
        anyObject,
        'Created and committed; `workflow` links to its sync (status `started`, or `queued` while Temporal is unavailable)',
      ),
      links: {
        GetOrder: { operationId: 'getOrder', parameters: { id: '$response.body#/order/id' } },
        ResyncOrder: { operationId: 'resyncOrder', parameters: { id: '$response.body#/order/id' } },
      },
    },
    200: json(anyObject, 'An identical order with this external id exists; nothing changed, nothing started'),
    400: errorResponses[400],
    409: errorResponses[409],
    415: errorResponses[415],
    503: errorResponses[503],
  },
});
registerRoute({
  scope: 'orders:read',
  method: 'get',
  path: '/api/v1/orders/{id}',
  operationId: 'getOrder',
  summary: 'An order with its CBB sync state, WhatsApp confirmation, audit events and workflow link',
  description:
    'Answers from Postgres only: `sync.step`, `sync.progress` and `sync.running` are the progress the sync recorded, ' +
    'and `workflow.status` is the status it implies (NOT_STARTED, RUNNING, COMPLETED or FAILED). A run terminated or ' +
    "cancelled from outside records nothing and stays RUNNING here; `?live=true` gives Temporal's own description.",
  request: { params: idParams, query: readQuery },
  responses: { 200: json(anyObject), 404: errorResponses[404], 503: errorResponses[503] },
});
registerRoute({
  scope: 'orders:write',
  method: 'post',
  path: '/api/v1/orders/{id}/resync',
  operationId: 'resyncOrder',
  summary: 'Sync the order to CBB again (joins a sync already running)',
  request: { params: idParams },
  responses: { 202: json(anyObject), 404: errorResponses[404] },
});

/** Starts the order's sync, or joins the one already running under the same id. */
export async function startOrderSync(ctx: ApiContext, req: Request, orderId: string) {
  const options = cbbSyncStartOptions(orderId, 'api');
  const { workflowId } = options;
  const handle = await startWorkflow<CbbSyncWorkflow>(ctx, req, cbbSyncWorkflowType, {
    ...options,
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return {
    workflowId,
    runId: handle.firstExecutionRunId,
    status: 'started' as const,
    webUiUrl: workflowUiUrl(ctx.config, workflowId, handle.firstExecutionRunId),
  };
}

/**
 * A new order's sync, started within half the request's deadline. The order is already
 * committed, so a Temporal outage does not fail the request: the order stays pending and
 * the sweep starts its sync (same workflow id, same link) within one sweep interval of
 * Temporal's return.
 */
async function startOrQueueSync(ctx: ApiContext, req: Request, orderId: string) {
  try {
    return await ctx.client.withDeadline(Date.now() + ctx.config.api.deadlineMs / 2, () =>
      startOrderSync(ctx, req, orderId),
    );
  } catch (err) {
    req.log.warn({ err: errorMessage(err), orderId }, 'sync not started now; the sweep will start it');
    const workflowId = cbbSyncWorkflowId(orderId);
    return {
      workflowId,
      status: 'queued' as const,
      detail: `Temporal did not take the start (${errorMessage(err)}); the sweep starts this sync once it is back`,
      webUiUrl: workflowUiUrl(ctx.config, workflowId),
    };
  }
}

/**
 * The workflow's status as the order's row implies it: a sync that ends `failed` or
 * `error` throws (workflows/cbb-sync.ts), any other end completes.
 */
function recordedWorkflowStatus(p: SyncProgressView): string {
  if (p.step === null) return 'NOT_STARTED';
  if (p.running) return 'RUNNING';
  return p.status === 'failed' || p.status === 'error' ? 'FAILED' : 'COMPLETED';
}

function recordedWorkflow(ctx: ApiContext, o: OrderRecord, progress: SyncProgressView) {
  const workflowId = o.cbbWorkflowId ?? cbbSyncWorkflowId(o.id);
  return {
    workflowId,
    runId: o.cbbRunId,
    status: recordedWorkflowStatus(progress),
    webUiUrl: workflowUiUrl(ctx.config, workflowId, o.cbbRunId ?? undefined),
  };
}

/** Temporal's description of the sync's latest run: a round trip, for reads that ask (`?live=true`). */
async function liveWorkflow(ctx: ApiContext, orderId: string) {
  const workflowId = cbbSyncWorkflowId(orderId);
  try {
    const d = await ctx.client.workflow.getHandle(workflowId).describe();
    return {
      workflowId,
      runId: d.runId,
      status: d.status.name,
      webUiUrl: workflowUiUrl(ctx.config, workflowId, d.runId),
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      return { workflowId, status: 'NOT_STARTED', webUiUrl: workflowUiUrl(ctx.config, workflowId) };
    throw err;
  }
}

function view(o: OrderRecord, progress: SyncProgressView = syncProgressOf(o)) {
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
      step: progress.step,
      progress: progress.status,
      running: progress.running,
    },
    whatsappConfirmation: { status: o.whatsappStatus, sentAt: o.whatsappSentAt, reason: o.whatsappReason },
  };
}

export function orderRoutes(ctx: ApiContext): ApiRouter {
  const router = apiRouter('/api/v1/orders');

  router.post('/', async (req, res) => {
    const input = parse(createBody, req.body ?? {});
    // The row is the source of truth and is committed before anything else happens.
    const { order, created } = await insertOrder(ctx.pool, input);
    if (!created) {
      const differs = orderDifferences(input, order);
      if (differs.length > 0) {
        throw conflict(
          `order ${input.externalId} already exists with other values (${differs.join(', ')}); an order is not changed by posting it again`,
        );
      }
      // An identical repeat changes nothing and starts nothing.
      const workflowId = cbbSyncWorkflowId(order.id);
      res
        .status(200)
        .location(`/api/v1/orders/${order.id}`)
        .json({
          order: view(order),
          created,
          workflow: { workflowId, webUiUrl: workflowUiUrl(ctx.config, workflowId) },
        });
      return;
    }
    const workflow = await startOrQueueSync(ctx, req, order.id);
    res
      .status(201)
      .location(`/api/v1/orders/${order.id}`)
      .json({ order: view(order), created, workflow });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(idParams, req.params);
    const live = parse(readQuery, req.query).live === 'true';
    // The row with its events is one statement; Temporal's description, when asked, goes alongside it.
    const [found, described] = await Promise.all([
      getOrderWithEvents(ctx.pool, id),
      live ? liveWorkflow(ctx, id) : undefined,
    ]);
    if (!found) throw notFound(`order ${id} does not exist`);
    const { order, events } = found;
    const progress = syncProgressOf(order);
    res.json({ ...view(order, progress), workflow: described ?? recordedWorkflow(ctx, order, progress), events });
  });

  router.post('/:id/resync', async (req, res) => {
    const { id } = parse(idParams, req.params);
    if (!(await getOrder(ctx.pool, id))) throw notFound(`order ${id} does not exist`);
    res.status(202).json({ orderId: id, workflow: await startOrderSync(ctx, req, id) });
  });

  return router;
}
