import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';
import type { ScheduleDeclaration, ScheduleSwitch } from '../schedule';
import { searchAttributes } from '../search-attributes';
import type { ModelJson } from './json';

/**
 * The HMM analysis's contract, shared by the workflow, the activities, the API, the
 * worker and the CLI: the request schema (the API validates with it, so the bounds are
 * documented once), the workflow id, start options, progress query, wire types and the
 * daily refit Schedule.
 */

/** The default task queue of analyses (HMM_TASK_QUEUE overrides it). */
export const hmmTaskQueue = 'hmm';
export const hmmAnalysisWorkflowType = 'hmmAnalysis';
export const hmmRefitWorkflowType = 'hmmRefit';

/** Most states one analysis may fit: more regimes than this are noise on daily bars and cost time. */
export const MAX_ANALYSIS_STATES = 10;

const symbol = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9][A-Z0-9._-]{0,31}$/, 'a symbol of 1 to 32 letters, digits, ".", "_" or "-", such as BTC-USD')
  .describe('Market symbol (upper-cased), 1 to 32 of A-Z 0-9 . _ -');

const stateCount = z.number().int().min(1).max(MAX_ANALYSIS_STATES);
const instant = z
  .string()
  .datetime({ offset: true, message: 'an ISO 8601 time such as 2024-01-31T00:00:00Z' })
  .transform((v) => new Date(v).toISOString());

export const analysisRequestSchema = z
  .object({
    symbol,
    states: z
      .union([
        stateCount,
        z
          .object({ min: stateCount, max: stateCount })
          .refine((r) => r.min <= r.max, { message: 'min must not exceed max' })
          .describe('Fit every count from min to max and keep the best by `criterion`'),
      ])
      .default(3)
      .describe(`Hidden states (regimes), 1 to ${MAX_ANALYSIS_STATES}, or a range {min, max} chosen by BIC/AIC`),
    criterion: z
      .enum(['bic', 'aic'])
      .default('bic')
      .describe('How a range of states is decided: BIC (default) penalises extra states harder than AIC'),
    covariance: z.enum(['diag', 'full']).default('diag').describe('Covariance of each state: diagonal or full'),
    features: z
      .enum(['regime', 'returns'])
      .default('regime')
      .describe('regime: log return, 20-bar volatility and 14-bar ATR / close; returns: log returns alone'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(0xffffffff)
      .default(0)
      .describe('Seed of the initialisations, 0 to 4294967295: the same data and seed give the same model'),
    restarts: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe('Seeded initialisations, 1 to 64; the most likely fit wins'),
    nIter: z.number().int().min(1).max(10_000).default(100).describe('Most EM iterations per restart, 1 to 10000'),
    tol: z
      .number()
      .min(0)
      .max(1)
      .default(1e-4)
      .describe('Converged once an iteration gains less log-likelihood than this, 0 to 1 (0: run every iteration)'),
    from: instant.optional().describe('First bar time (ISO 8601, inclusive); default: the first bar'),
    to: instant.optional().describe('Last bar time (ISO 8601, inclusive); default: the latest bar'),
  })
  .strict()
  .refine((r) => !r.from || !r.to || r.from < r.to, { message: 'from must be before to', path: ['from'] });

export type AnalysisRequest = z.input<typeof analysisRequestSchema>;
/** A request with every default filled in: what the id hashes and the workflow runs. */
export type AnalysisParams = z.output<typeof analysisRequestSchema>;

/** The parameters the daily refit uses for every tracked symbol. */
export const defaultAnalysisParams = (sym: string): AnalysisParams => analysisRequestSchema.parse({ symbol: sym });

/** The state counts an analysis fits. */
export function stateCounts(p: AnalysisParams): number[] {
  const s = p.states;
  return typeof s === 'number' ? [s] : Array.from({ length: s.max - s.min + 1 }, (_, i) => s.min + i);
}

/** Parameters in one canonical form: keys sorted, a one-count range written as that count. */
export function canonicalParams(p: AnalysisParams): string {
  const states = typeof p.states === 'object' && p.states.min === p.states.max ? p.states.min : p.states;
  const sorted = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
            .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
        )
      : v;
  return JSON.stringify(sorted({ ...p, states }));
}

/**
 * A stable 64-bit hash (two FNV-1a lanes) of the canonical parameters, as 16 hex digits.
 * Pure and in the contract because the API, the refit workflow and the CLI must all
 * derive the same id from the same request.
 */
export function paramsHash(p: AnalysisParams): string {
  const text = canonicalParams(p);
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (a >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** `hmm-<symbol>-<params hash>`: the same request in flight joins the running analysis. */
export const hmmAnalysisWorkflowId = (p: AnalysisParams) => `hmm-${p.symbol}-${paramsHash(p)}`;

export const analysisIdPattern = /^hmm-[A-Z0-9][A-Z0-9._-]{0,31}-[0-9a-f]{16}$/;

export interface HmmAnalysisInput {
  params: AnalysisParams;
}

export type AnalysisState =
  'loading' | 'fitting' | 'decoding' | 'storing' | 'caching' | 'completed' | 'failed' | 'cancelled';

/** The bars an analysis read, pinned by time so every later step reads the same window. */
export interface SeriesRef {
  symbol: string;
  from: string;
  to: string;
  bars: number;
  /** Rows of features (bars minus the warm-up of the rolling windows). */
  observations: number;
  features: string[];
}

export interface FitSummary {
  engine: 'local' | 'remote';
  model: ModelJson;
  labels: string[];
  states: number;
  logLikelihood: number;
  /** True only when the tolerance was met; hitting nIter is not convergence. */
  converged: boolean;
  iterations: number;
  candidates?: { states: number; logLikelihood: number; bic: number; aic: number; converged: boolean }[];
  fitMs: number;
}

/** What each state looks like in price terms: mean and standard deviation of the log return per bar. */
export interface RegimeStats {
  state: number;
  label: string;
  meanReturn: number;
  volatility: number;
  bars: number;
  share: number;
  /** Uninterrupted runs of this state along the Viterbi path. */
  segments: number;
}

export interface LatestRegime {
  symbol: string;
  analysisId: string;
  /** Time of the last analysed bar. */
  time: string;
  state: number;
  label: string;
  /** Filtered probability P(state | bars up to `time`) of `state`: what a live signal could know. */
  probability: number;
  probabilities: number[];
  labels: string[];
  computedAt: string;
}

export interface DecodeSummary {
  latest: LatestRegime;
  regimes: RegimeStats[];
  decodeMs: number;
}

export interface HmmAnalysisResult {
  analysisId: string;
  symbol: string;
  series: SeriesRef;
  fit: Omit<FitSummary, 'model'>;
  latest: LatestRegime;
  regimes: RegimeStats[];
  timings: Timings;
}

export interface Timings {
  loadMs?: number;
  fitMs?: number;
  decodeMs?: number;
  storeMs?: number;
  cacheMs?: number;
  totalMs?: number;
}

export interface HmmAnalysisProgress {
  analysisId: string;
  symbol: string;
  state: AnalysisState;
  series?: SeriesRef;
  states?: number;
  converged?: boolean;
  error?: string;
  timings: Timings;
}

export type HmmAnalysisWorkflow = (input: HmmAnalysisInput) => Promise<HmmAnalysisResult>;
export const hmmAnalysisProgress = defineQuery<HmmAnalysisProgress>('hmmAnalysisProgress');

/** How every analysis is started (API, refit, CLI): its id, queue, search attributes and summary. */
export function hmmAnalysisStartOptions(params: AnalysisParams, taskQueue = hmmTaskQueue) {
  const workflowId = hmmAnalysisWorkflowId(params);
  const states = typeof params.states === 'number' ? `${params.states}` : `${params.states.min}-${params.states.max}`;
  return {
    workflowId,
    taskQueue,
    args: [{ params }] as [HmmAnalysisInput],
    typedSearchAttributes: [
      { key: searchAttributes.symbol, value: params.symbol },
      { key: searchAttributes.analysisState, value: 'loading' },
    ] as SearchAttributePair[],
    staticSummary: `HMM regimes of ${params.symbol}: ${states} states, ${params.covariance}, ${params.features} features, seed ${params.seed}`,
  };
}

/** The Redis key of a symbol's latest regime, as the origin named it. */
export const regimeCacheKey = (sym: string) => `market-analysis-${sym}`;

export interface HmmRefitInput {
  /** Analyses running at once: each fit takes a core of the hmm worker. */
  concurrency: number;
}

export interface HmmRefitResult {
  symbols: number;
  completed: number;
  failed: { symbol: string; reason: string }[];
}

export type HmmRefitWorkflow = (input: HmmRefitInput) => Promise<HmmRefitResult>;
export const hmmRefitScheduleId = 'hmm-refit';

/**
 * The daily refit: one Schedule starting one small workflow that lists the tracked
 * symbols (those with bars) when it runs and analyses each. A Schedule per symbol would
 * have to be created and deleted as symbols are imported; this one needs no upkeep and
 * bounds how many fits run at once. A refit that outlasts its interval is not doubled.
 */
export function hmmRefitSchedule(opts: { every: string; concurrency: number; taskQueue: string }): ScheduleDeclaration {
  return {
    scheduleId: hmmRefitScheduleId,
    every: opts.every,
    workflowType: hmmRefitWorkflowType,
    workflowId: hmmRefitScheduleId,
    taskQueue: opts.taskQueue,
    args: [{ concurrency: opts.concurrency } satisfies HmmRefitInput],
    summary: 'Daily refit: the HMM regimes of every symbol with bars',
    overlap: 'SKIP',
    catchupWindow: '1h',
  };
}

/** The HMM analysis's Schedules, each with the setting that sets it or turns it off. */
export function hmmSchedules(settings: {
  refitEvery: string;
  refitConcurrency: number;
  taskQueue: string;
}): ScheduleSwitch[] {
  return [
    {
      setting: 'HMM_REFIT_EVERY',
      every: settings.refitEvery,
      declare: (every) =>
        hmmRefitSchedule({ every, concurrency: settings.refitConcurrency, taskQueue: settings.taskQueue }),
    },
  ];
}
