import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { HmmActivities } from '../activities/hmm';
import {
  hmmAnalysisProgress,
  type AnalysisState,
  type HmmAnalysisInput,
  type HmmAnalysisProgress,
  type HmmAnalysisResult,
  type Timings,
} from '../lib/hmm/contract';
import { searchAttributes } from '../lib/search-attributes';
import { applicationFailure, failureMessage } from './failure';

/** Reading bars, storing regimes, caching: Postgres and Redis calls that retry through a short outage. */
const io = proxyActivities<HmmActivities>({
  startToCloseTimeout: '2m',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 5,
  },
});

/**
 * The fit: the origin's policy of 3 attempts, 1 s then 2 s apart, with no retry of a
 * refusal (bad input, 4xx, 401/403). A heartbeat comes every EM round, so 30 s without
 * one means the worker is gone and another attempt starts elsewhere. The workflow waits
 * for a cancelled fit to stop before it records the cancellation.
 */
const fitter = proxyActivities<HmmActivities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '30s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumAttempts: 3,
  },
});

const pct = (p: number) => `${(100 * p).toFixed(1)} %`;

/**
 * One HMM regime analysis of a symbol's bars: load → fit → decode (and store the
 * regimes) → store the model → cache the latest regime → result. The data stays in
 * Postgres; the history carries the window, the model and summaries only. Id:
 * `hmm-<symbol>-<params hash>`, so the same request joins a running analysis.
 */
export async function hmmAnalysis({ params }: HmmAnalysisInput): Promise<HmmAnalysisResult> {
  const { workflowId } = workflowInfo();
  const started = Date.now();
  const timings: Timings = {};
  const progress: HmmAnalysisProgress = { analysisId: workflowId, symbol: params.symbol, state: 'loading', timings };
  setHandler(hmmAnalysisProgress, () => progress);
  const enter = (state: AnalysisState, details: string) => {
    progress.state = state;
    setCurrentDetails(details);
    upsertSearchAttributes([
      { key: searchAttributes.symbol, value: params.symbol },
      { key: searchAttributes.analysisState, value: state },
    ]);
  };
  enter('loading', `loading the bars of ${params.symbol}`);

  try {
    await io.beginAnalysis(params);
    const { loadMs, ...series } = await io.loadBars(params);
    timings.loadMs = loadMs;
    progress.series = series;

    const states =
      typeof params.states === 'number' ? `${params.states}` : `${params.states.min} to ${params.states.max}`;
    enter(
      'fitting',
      `fitting ${states} states to ${series.observations} observations (${series.features.join(', ')}) of ` +
        `${series.bars} bars, ${series.from} to ${series.to}; the fit's heartbeat shows the iteration`,
    );
    const fit = await fitter.fitModel(params, series);
    timings.fitMs = fit.fitMs;
    progress.states = fit.states;
    progress.converged = fit.converged;

    enter(
      'decoding',
      `${fit.states} states, log-likelihood ${fit.logLikelihood.toFixed(2)}, ` +
        `${fit.converged ? 'converged' : 'not converged (iteration cap)'} after ${fit.iterations} iterations; decoding`,
    );
    const decoded = await io.decodeRegimes(params, series, fit);
    timings.decodeMs = decoded.decodeMs;

    enter('storing', 'storing the model');
    timings.storeMs = (await io.storeAnalysis(series, fit, { ...timings })).storeMs;

    enter('caching', `caching the latest regime of ${params.symbol}`);
    const cacheStarted = Date.now();
    await io.cacheRegime(decoded.latest);
    timings.cacheMs = Date.now() - cacheStarted;
    timings.totalMs = Date.now() - started;

    const { latest } = decoded;
    enter('completed', `${params.symbol} is ${latest.label} (filtered ${pct(latest.probability)}) at ${latest.time}`);
    const { model: _model, ...fitSummary } = fit;
    return {
      analysisId: workflowId,
      symbol: params.symbol,
      series,
      fit: fitSummary,
      latest,
      regimes: decoded.regimes,
      timings,
    };
  } catch (err) {
    const cancelled = isCancellation(err);
    const reason = cancelled ? 'cancelled' : failureMessage(err);
    const status = cancelled ? 'cancelled' : 'failed';
    progress.error = reason;
    timings.totalMs = Date.now() - started;
    // Recorded even when the workflow is being cancelled: the row must not stay "running".
    await CancellationScope.nonCancellable(() => io.recordOutcome({ status, error: reason, timings }));
    enter(status, `${status}: ${reason}`);
    if (cancelled) throw err;
    throw ApplicationFailure.create({
      type: applicationFailure(err)?.type ?? 'AnalysisFailed',
      message: `analysis of ${params.symbol}: ${reason}`,
      nonRetryable: true,
    });
  }
}
