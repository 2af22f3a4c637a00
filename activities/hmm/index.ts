import { CancelledFailure, Context, log as activityLog } from '@temporalio/activity';
import { AppError } from '../../lib/errors';
import {
  covarianceFloor,
  decode,
  filtered,
  modelFromJson,
  modelToJson,
  permuteStates,
  volatilityLabels,
  volatilityOrder,
  type HmmParams,
} from '../../lib/hmm';
import {
  regimeCacheKey,
  type AnalysisParams,
  type DecodeSummary,
  type FitSummary,
  type LatestRegime,
  type RegimeStats,
  type SeriesRef,
  type Timings,
} from '../../lib/hmm/contract';
import type { Config } from '../../lib/infra/config';
import type { Pool } from '../../lib/infra/db';
import type { Logger } from '../../lib/infra/logger';
import type { Redis } from '../../lib/infra/redis';
import { listSymbols } from '../../store/hmm/bars';
import { replaceRegimes } from '../../store/hmm/regimes';
import { finishRun, saveModel, startRun, type RunStatus } from '../../store/hmm/runs';
import { fitLocally } from './local-engine';
import { analyzeRemotely, analyzeRequest } from './remote-engine';
import { loadSeries, readPinned } from './series';
import { runtimeHmmMetrics, type HmmMetrics } from './metrics';

export interface HmmDeps {
  config: Pick<Config, 'hmm'>;
  pool: Pool;
  redis: Redis;
  log: Logger;
  /** Aborted when the worker starts to shut down: a fit stops and its next attempt runs elsewhere. */
  stopping: AbortSignal;
  metrics?: HmmMetrics;
}

/** Who is running: the analysis (workflow id) and the Temporal run that owns its rows. */
function caller() {
  const run = Context.current().info.workflowExecution;
  if (!run) throw new AppError('Internal', 'hmm activities run inside an analysis workflow');
  return { id: run.workflowId, runId: run.runId };
}

const elapsed = (since: number) => Math.round(performance.now() - since);

export function createHmmActivities({ config, pool, redis, log, stopping, metrics = runtimeHmmMetrics }: HmmDeps) {
  const activities = {
    /**
     * Records that the analysis runs (its row under this run, the previous run's result
     * cleared). Safe to run twice: the second call finds the row already under this run
     * and changes nothing.
     */
    beginAnalysis: async (params: AnalysisParams): Promise<void> => {
      const { id, runId } = caller();
      await startRun(pool, id, runId, params);
    },

    /**
     * Reads the bars, builds the features and checks them (see series.ts); returns the
     * pinned window, not the data, so the history stays small whatever the length.
     * Safe to run twice: it only reads.
     */
    loadBars: async (params: AnalysisParams): Promise<SeriesRef & { loadMs: number }> => {
      const started = performance.now();
      const { ref } = await loadSeries(pool, params);
      return { ...ref, loadMs: elapsed(started) };
    },

    /**
     * Fits the model with the configured engine, heartbeating every EM round (the state
     * count, restart, iteration and log-likelihood so far) and stopping when cancelled.
     * Safe to run twice: it writes nothing, and the same data and seed give the same model.
     */
    fitModel: async (params: AnalysisParams, ref: SeriesRef): Promise<FitSummary> => {
      const ctx = Context.current();
      const started = performance.now();
      const series = await readPinned(pool, params, ref);
      const floor = covarianceFloor(series.obs);
      if (config.hmm.engine === 'remote') {
        const beat = setInterval(() => ctx.heartbeat({ engine: 'remote', waitingMs: elapsed(started) }), 1000);
        try {
          ctx.heartbeat({ engine: 'remote', waitingMs: 0 });
          const fit = await analyzeRemotely(
            { url: config.hmm.serviceUrl!, token: config.hmm.serviceToken, timeoutMs: config.hmm.serviceTimeoutMs },
            analyzeRequest(params.symbol, ref.features, series.obs, params),
            ctx.cancellationSignal,
          );
          // Calmest state first, as the local engine orders them, whatever order the service used.
          const model = permuteStates(fit.model, volatilityOrder(fit.model, floor));
          return {
            engine: 'remote',
            model: modelToJson(model),
            labels: volatilityLabels(model.k),
            states: model.k,
            logLikelihood: fit.logLikelihood,
            converged: fit.converged,
            iterations: fit.iterations,
            candidates: fit.candidates,
            fitMs: elapsed(started),
          };
        } finally {
          clearInterval(beat);
        }
      }
      const selection = await fitLocally(series.obs, params, {
        onStep: (step) => ctx.heartbeat(step),
        checkStop: () => {
          if (ctx.cancellationSignal.aborted) throw new CancelledFailure(`fit of ${params.symbol} cancelled`);
          if (stopping.aborted) {
            throw new AppError('Unavailable', 'the hmm worker is shutting down; the next attempt fits again');
          }
        },
      });
      const { best } = selection;
      return {
        engine: 'local',
        model: modelToJson(best.model),
        labels: best.labels,
        states: selection.states,
        logLikelihood: best.logLikelihood,
        converged: best.converged,
        iterations: best.iterations,
        candidates: selection.candidates.length > 1 ? selection.candidates : undefined,
        fitMs: elapsed(started),
      };
    },

    /**
     * Decodes every bar (Viterbi state, filtered probabilities) and stores the regimes.
     * Safe to run twice: the regimes are replaced in one transaction, guarded by the run.
     */
    decodeRegimes: async (params: AnalysisParams, ref: SeriesRef, fit: FitSummary): Promise<DecodeSummary> => {
      const started = performance.now();
      const { id, runId } = caller();
      const series = await readPinned(pool, params, ref);
      const model = modelFromJson(fit.model);
      const { path } = decode(model, series.obs);
      const probs = filtered(model, series.obs).filtered;
      const n = series.obs.n;
      const times = Float64Array.from({ length: n }, (_, i) => series.bars[series.firstBar + i].time);
      const stored = await replaceRegimes(pool, id, runId, {
        time: times,
        state: path,
        labels: fit.labels,
        filtered: probs,
      });
      if (!stored) throw new AppError('Conflict', `analysis ${id} was restarted by another run; this run stops`);
      const k = model.k;
      const last = n - 1;
      let state = 0;
      for (let s = 1; s < k; s++) if (probs[last * k + s] > probs[last * k + state]) state = s;
      const latest: LatestRegime = {
        symbol: params.symbol,
        analysisId: id,
        time: new Date(times[last]).toISOString(),
        state,
        label: fit.labels[state],
        probability: probs[last * k + state],
        probabilities: Array.from(probs.subarray(last * k, last * k + k)),
        labels: fit.labels,
        computedAt: new Date().toISOString(),
      };
      return { latest, regimes: regimeStats(model, fit.labels, path), decodeMs: elapsed(started) };
    },

    /** Stores the model and marks the run completed. Safe to run twice: upserts guarded by the run. */
    storeAnalysis: async (ref: SeriesRef, fit: FitSummary, timings: Timings): Promise<{ storeMs: number }> => {
      const started = performance.now();
      const { id, runId } = caller();
      if (!(await saveModel(pool, id, runId, ref, fit))) {
        throw new AppError('Conflict', `analysis ${id} was restarted by another run; this run stops`);
      }
      const storeMs = elapsed(started);
      await finishRun(pool, id, runId, { status: 'completed', timings: { ...timings, storeMs } });
      return { storeMs };
    },

    /**
     * Caches the symbol's latest regime for the configured TTL (10 minutes by default).
     * Safe to run twice: SET replaces the value and restarts the TTL.
     */
    cacheRegime: async (latest: LatestRegime): Promise<void> => {
      await redis.set(regimeCacheKey(latest.symbol), JSON.stringify(latest), 'EX', config.hmm.cacheTtlSeconds);
    },

    /** Records how a run ended when it did not complete. Safe to run twice: an update guarded by the run. */
    recordOutcome: async (outcome: {
      status: Exclude<RunStatus, 'running' | 'completed'>;
      error: string;
      timings: Timings;
    }): Promise<void> => {
      const { id, runId } = caller();
      await finishRun(pool, id, runId, outcome);
      log.info({ analysisId: id, status: outcome.status, error: outcome.error }, 'hmm analysis did not complete');
    },

    /** The symbols the daily refit analyses: every symbol with bars. Safe to run twice: it only reads. */
    trackedSymbols: async (): Promise<string[]> => (await listSymbols(pool)).map((s) => s.symbol),
  };

  /** One count and one line per fit that ends, whatever the engine. */
  const fitModel = async (params: AnalysisParams, ref: SeriesRef): Promise<FitSummary> => {
    const started = performance.now();
    const engine = config.hmm.engine === 'remote' ? 'remote' : 'local';
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const fit = await activities.fitModel(params, ref);
      metrics.fit(engine, fit.converged ? 'converged' : 'not_converged', seconds());
      const { states, converged, iterations, fitMs } = fit;
      activityLog.info('hmm fit done', { symbol: params.symbol, engine, states, converged, iterations, fitMs });
      return fit;
    } catch (err) {
      metrics.fit(engine, err instanceof CancelledFailure || stopping.aborted ? 'cancelled' : 'failed', seconds());
      throw err;
    }
  };
  return { ...activities, fitModel };
}

export type HmmActivities = ReturnType<typeof createHmmActivities>;

/** Each state in price terms (column 0 is the log return in every feature set) and how often it held. */
export function regimeStats(model: HmmParams, labels: readonly string[], path: ArrayLike<number>): RegimeStats[] {
  const { k, d, covarianceType } = model;
  const bars = new Array<number>(k).fill(0);
  const segments = new Array<number>(k).fill(0);
  for (let t = 0; t < path.length; t++) {
    bars[path[t]]++;
    if (t === 0 || path[t] !== path[t - 1]) segments[path[t]]++;
  }
  return Array.from({ length: k }, (_, s) => ({
    state: s,
    label: labels[s],
    meanReturn: model.means[s * d],
    volatility: Math.sqrt(covarianceType === 'diag' ? model.covars[s * d] : model.covars[s * d * d]),
    bars: bars[s],
    share: path.length ? bars[s] / path.length : 0,
    segments: segments[s],
  }));
}
