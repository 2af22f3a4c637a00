import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { syntheticBars } from '../../lib/hmm';
import { analysisRequestSchema, hmmAnalysisStartOptions } from '../../lib/hmm/contract';
import { importBars } from '../../store/hmm/bars';
import { hmmAnalysis } from '../../workflows/hmm';
import { recordHistory } from '../helpers/histories';
import { hmmTestFile, symbolTag } from '../helpers/hmm-stack';
import { expectCancelled } from '../helpers/outcome';
import { waitUntil } from '../helpers/wait';

/**
 * HMM analyses that do not complete, against the test stack with a real worker and the API
 * in process (test/helpers/hmm-stack.ts): one joined and then cancelled mid-fit, one refused
 * for its input.
 */
const file = hmmTestFile();

test('the same request while one runs joins it; cancelling mid-fit stops the fit and records it', async () => {
  const sym = `LONG${symbolTag}`;
  await importBars(file.stack.pool, sym, syntheticBars({ n: 20_000, seed: 11 }).bars);
  // tol 0 and many iterations: a fit that runs until it is cancelled.
  const body = { symbol: sym, states: 4, restarts: 64, nIter: 10_000, tol: 0 };
  const first = await file.api.post('/api/v1/analyses', body);
  expect(first.status).toBe(202);
  const handle = file.stack.client.workflow.getHandle(first.body.analysisId);
  let heartbeat: any;
  await waitUntil(
    'the fit to heartbeat an EM iteration',
    async () => {
      const d = await handle.describe();
      const payload = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
      heartbeat = payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
      return heartbeat?.iteration >= 1;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
  expect(heartbeat).toMatchObject({ states: 4, restart: 0 });
  expect(Number.isFinite(heartbeat.logLikelihood)).toBe(true);

  const second = await file.api.post('/api/v1/analyses', { ...body, symbol: sym.toLowerCase() });
  expect(second.status).toBe(200);
  expect(second.body).toMatchObject({ joined: true, analysisId: first.body.analysisId, runId: first.body.runId });
  const live = await file.api.get(`/api/v1/analyses/${first.body.analysisId}`);
  expect(live.body).toMatchObject({
    status: 'running',
    workflow: { status: 'RUNNING', progress: { state: 'fitting' } },
  });
  expect(live.body.workflow.fitProgress.iteration).toBeGreaterThanOrEqual(1);

  await handle.cancel();
  await expectCancelled(handle);
  const { rows } = await file.stack.pool.query('SELECT status, error FROM hmm_runs WHERE id = $1', [handle.workflowId]);
  expect(rows[0]).toEqual({ status: 'cancelled', error: 'cancelled' });
  await recordHistory(handle, 'cancelled');
}, 180_000);

test('a constant series fails at once with the reason, not retried, and no fit runs', async () => {
  const sym = `FLAT${symbolTag}`;
  const bars = Array.from({ length: 200 }, (_, i) => ({
    time: Date.UTC(2023, 0, 1) + i * 86_400_000,
    open: 50,
    high: 50,
    low: 50,
    close: 50,
    volume: 10,
  }));
  await importBars(file.stack.pool, sym, bars);
  const params = analysisRequestSchema.parse({ symbol: sym, features: 'returns' });
  const handle = await file.stack.client.workflow.start(hmmAnalysis, {
    ...hmmAnalysisStartOptions(params),
    taskQueue: file.taskQueue,
  });
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause.type).toBe('ValidationError');
  expect(cause.nonRetryable).toBe(true);
  expect(cause.message).toContain('constant series has no regimes');
  const history = await handle.fetchHistory();
  const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes);
  expect(scheduled.map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name)).toEqual([
    'beginAnalysis',
    'loadBars',
    'recordOutcome',
  ]);
  const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes);
  expect(started.every((e) => e.activityTaskStartedEventAttributes!.attempt === 1)).toBe(true);
  const { rows } = await file.stack.pool.query('SELECT status, error FROM hmm_runs WHERE id = $1', [handle.workflowId]);
  expect(rows[0].status).toBe('failed');
  expect(rows[0].error).toContain('constant');
  await recordHistory(handle, 'invalid-input');
}, 60_000);
