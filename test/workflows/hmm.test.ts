import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { HmmActivities } from '../../activities/hmm';
import { AppError, validationError } from '../../lib/errors';
import {
  analysisRequestSchema,
  hmmAnalysisProgress,
  hmmAnalysisStartOptions,
  type FitSummary,
  type LatestRegime,
  type SeriesRef,
} from '../../lib/hmm/contract';
import { searchAttributes } from '../../lib/search-attributes';
import { activityInterceptors } from '../../workers/interceptors';
import { hmmAnalysis } from '../../workflows/hmm';
import { hmmRefit } from '../../workflows/hmm-refit';
import { expectCancelled } from '../helpers/outcome';
import { addKeywordAttributes, testWorker, timeSkippingEnv, uniqueTaskQueue } from '../helpers/time-skipping';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
  await addKeywordAttributes(env, [searchAttributes.symbol, searchAttributes.analysisState]);
});
afterAll(() => env?.teardown());

const series: SeriesRef & { loadMs: number } = {
  symbol: 'TEST',
  from: '2020-01-01T00:00:00.000Z',
  to: '2020-12-31T00:00:00.000Z',
  bars: 366,
  observations: 346,
  features: ['logReturn', 'volatility', 'atrRatio'],
  loadMs: 3,
};

const fit: FitSummary = {
  engine: 'local',
  model: {
    startprob: [1, 0],
    transmat: [
      [0.9, 0.1],
      [0.2, 0.8],
    ],
    means: [[0.001], [-0.002]],
    covars: [[1e-4], [9e-4]],
    covarianceType: 'diag',
  },
  labels: ['low-vol', 'high-vol'],
  states: 2,
  logLikelihood: 812.5,
  converged: true,
  iterations: 17,
  fitMs: 40,
};

const latest: LatestRegime = {
  symbol: 'TEST',
  analysisId: 'x',
  time: series.to,
  state: 1,
  label: 'high-vol',
  probability: 0.93,
  probabilities: [0.07, 0.93],
  labels: fit.labels,
  computedAt: '2021-01-01T00:00:00.000Z',
};

type Fakes = Partial<Record<keyof HmmActivities, (...args: any[]) => Promise<unknown>>>;

/** Fake activities that record their calls in order; each test overrides the ones it exercises. */
function fakes(over: Fakes = {}) {
  const calls: { name: string; args: unknown[] }[] = [];
  const base: Fakes = {
    beginAnalysis: async () => undefined,
    loadBars: async () => series,
    fitModel: async () => fit,
    decodeRegimes: async () => ({
      latest,
      regimes: [
        { state: 0, label: 'low-vol', meanReturn: 0.001, volatility: 0.01, bars: 300, share: 0.87, segments: 4 },
        { state: 1, label: 'high-vol', meanReturn: -0.002, volatility: 0.03, bars: 46, share: 0.13, segments: 3 },
      ],
      decodeMs: 5,
    }),
    storeAnalysis: async () => ({ storeMs: 7 }),
    cacheRegime: async () => undefined,
    recordOutcome: async () => undefined,
    trackedSymbols: async () => [],
  };
  const activities = Object.fromEntries(
    Object.entries({ ...base, ...over }).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        calls.push({ name, args });
        return fn!(...args);
      },
    ]),
  );
  return { activities, calls, names: () => calls.map((c) => c.name) };
}

const params = analysisRequestSchema.parse({ symbol: 'test', states: 2 });

function worker(taskQueue: string, activities: object) {
  return testWorker(env, {
    taskQueue,
    activities,
    interceptors: { activity: [activityInterceptors] },
    // As the hmm worker does: a cancellation arrives with the next heartbeat sent.
    maxHeartbeatThrottleInterval: '1s',
  });
}

test('happy path: load, fit, decode, store, cache, in that order; result, progress and search attributes', async () => {
  const taskQueue = uniqueTaskQueue('hmm');
  const f = fakes();
  const w = await worker(taskQueue, f.activities);
  const options = hmmAnalysisStartOptions(params);
  await w.runUntil(async () => {
    const handle = await env.client.workflow.start(hmmAnalysis, { ...options, taskQueue });
    const result = await handle.result();
    expect(result.analysisId).toBe(options.workflowId);
    expect(result.latest).toEqual(latest);
    expect(result.fit).toMatchObject({ states: 2, converged: true, iterations: 17, logLikelihood: 812.5 });
    expect(result.fit).not.toHaveProperty('model');
    expect(result.series).toEqual({ ...series, loadMs: undefined });
    expect(result.timings).toMatchObject({ loadMs: 3, fitMs: 40, decodeMs: 5, storeMs: 7 });
    const progress = await handle.query(hmmAnalysisProgress);
    expect(progress.state).toBe('completed');
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(searchAttributes.analysisState)).toBe('completed');
    expect(described.typedSearchAttributes.get(searchAttributes.symbol)).toBe('TEST');
  });
  expect(f.names()).toEqual(['beginAnalysis', 'loadBars', 'fitModel', 'decodeRegimes', 'storeAnalysis', 'cacheRegime']);
  // Each step works on the window the load pinned, and the cache gets the decoded regime.
  const fitCall = f.calls.find((c) => c.name === 'fitModel')!;
  expect(fitCall.args[1]).toEqual({ ...series, loadMs: undefined });
  expect(f.calls.find((c) => c.name === 'cacheRegime')!.args[0]).toEqual(latest);
});

test('invalid input fails at once, not retried, with the reason, and the run is recorded as failed', async () => {
  const taskQueue = uniqueTaskQueue('hmm');
  const f = fakes({
    loadBars: async () => {
      throw validationError('feature 0 is constant (every value is 0): a constant series has no regimes to find');
    },
  });
  const w = await worker(taskQueue, f.activities);
  const err = await w.runUntil(
    env.client.workflow.execute(hmmAnalysis, { ...hmmAnalysisStartOptions(params), taskQueue }).then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect(cause.type).toBe('ValidationError');
  expect(cause.nonRetryable).toBe(true);
  expect(cause.message).toContain('a constant series has no regimes to find');
  expect(f.names()).toEqual(['beginAnalysis', 'loadBars', 'recordOutcome']);
  expect(f.calls[2].args[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('constant') });
});

test('a failing fit is retried by the policy: 3 attempts, 1 s then 2 s apart', async () => {
  const taskQueue = uniqueTaskQueue('hmm');
  const attempts: number[] = [];
  const f = fakes({
    fitModel: async () => {
      attempts.push(await env.currentTimeMs());
      if (attempts.length < 3) throw new AppError('Upstream', 'the HMM service answered 503');
      return fit;
    },
  });
  const w = await worker(taskQueue, f.activities);
  const result = await w.runUntil(
    env.client.workflow.execute(hmmAnalysis, { ...hmmAnalysisStartOptions(params), taskQueue }),
  );
  expect(result.fit.states).toBe(2);
  expect(attempts).toHaveLength(3);
  expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(1000);
  expect(attempts[2] - attempts[1]).toBeGreaterThanOrEqual(2000);
});

test('a fit failing 3 times fails the analysis with the last reason', async () => {
  const taskQueue = uniqueTaskQueue('hmm');
  let attempts = 0;
  const f = fakes({
    fitModel: async () => {
      attempts++;
      throw new AppError('Unavailable', `the HMM service did not answer within 500 ms (attempt ${attempts})`);
    },
  });
  const w = await worker(taskQueue, f.activities);
  const err = await w.runUntil(
    env.client.workflow.execute(hmmAnalysis, { ...hmmAnalysisStartOptions(params), taskQueue }).then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  expect(attempts).toBe(3);
  expect((err as WorkflowFailedError).cause?.message).toContain('attempt 3');
  expect(f.names().at(-1)).toBe('recordOutcome');
});

test('cancellation mid-fit stops the fit, records the run as cancelled and skips the rest', async () => {
  const taskQueue = uniqueTaskQueue('hmm');
  let heartbeating!: () => void;
  const firstHeartbeat = new Promise<void>((resolve) => (heartbeating = resolve));
  let stoppedBy: unknown;
  const f = fakes({
    fitModel: async () => {
      const ctx = Context.current();
      for (let iteration = 0; ; iteration++) {
        ctx.heartbeat({ iteration, logLikelihood: -1000 + iteration });
        heartbeating();
        try {
          await ctx.sleep(200);
        } catch (err) {
          stoppedBy = err;
          throw err;
        }
      }
    },
  });
  const w = await worker(taskQueue, f.activities);
  await w.runUntil(async () => {
    const handle = await env.client.workflow.start(hmmAnalysis, { ...hmmAnalysisStartOptions(params), taskQueue });
    await firstHeartbeat;
    await handle.cancel();
    await expectCancelled(handle);
    expect((await handle.query(hmmAnalysisProgress)).state).toBe('cancelled');
  });
  expect(stoppedBy).toBeInstanceOf(CancelledFailure);
  expect(f.names()).toEqual(['beginAnalysis', 'loadBars', 'fitModel', 'recordOutcome']);
  expect(f.calls[3].args[0]).toMatchObject({ status: 'cancelled' });
});

test('the daily refit analyses every tracked symbol under the default parameters and reports failures', async () => {
  const taskQueue = uniqueTaskQueue('hmm');
  let inFlight = 0;
  let most = 0;
  const f = fakes({
    trackedSymbols: async () => ['AAA', 'BBB', 'CCC'],
    fitModel: async (p: { symbol: string }) => {
      most = Math.max(most, ++inFlight);
      await Context.current().sleep(50);
      inFlight--;
      if (p.symbol === 'BBB') throw validationError('feature 0 is constant (every value is 5)');
      return fit;
    },
  });
  const w = await worker(taskQueue, f.activities);
  const result = await w.runUntil(
    env.client.workflow.execute(hmmRefit, {
      taskQueue,
      workflowId: `hmm-refit-${taskQueue}`,
      args: [{ concurrency: 2 }],
    }),
  );
  expect(result.symbols).toBe(3);
  expect(result.completed).toBe(2);
  expect(result.failed).toEqual([{ symbol: 'BBB', reason: expect.stringContaining('constant') }]);
  expect(most).toBeLessThanOrEqual(2);
  // Two run at once, so the order they start in is not fixed; the set is.
  const fitted = f.calls
    .filter((c) => c.name === 'fitModel')
    .map((c) => c.args[0] as { symbol: string })
    .sort((a, b) => a.symbol.localeCompare(b.symbol));
  expect(fitted).toEqual(['AAA', 'BBB', 'CCC'].map((symbol) => analysisRequestSchema.parse({ symbol })));
});
