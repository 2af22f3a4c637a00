import { Client, Connection } from '@temporalio/client';
import { fitLocally } from '../activities/hmm/local-engine';
import { decode, filtered, regimeFeatures, syntheticBars } from '../lib/hmm';
import {
  analysisRequestSchema,
  hmmAnalysisStartOptions,
  hmmAnalysisWorkflowType,
  type AnalysisParams,
  type HmmAnalysisWorkflow,
} from '../lib/hmm/contract';
import { createPool, type Pool } from '../lib/infra/db';
import { importBars, readBars } from '../store/hmm/bars';
import { isolatedStack } from './support/isolated-stack';
import { formatSpread, pairedRounds } from './support/rounds';

/**
 * `npm run bench -- hmm analysis [rounds=5] [bars...]`: on an isolated stack of its own
 * (test slot 8 unless TEST_STACK_SLOT says otherwise) with the hmm worker as the stack
 * runs it, a full hmmAnalysis through Temporal (load, fit with a heartbeat per EM round,
 * decode, store every regime, cache) against the same work done by calling the engine
 * directly in this process on the same bars (read from Postgres, features, fit, Viterbi,
 * filtered). Default parameters: 3 states, diag, the regime features, 4 restarts.
 * After a warm-up of both, paired rounds (ABBA): in each, each side runs as many
 * analyses as fill about 2 s (once at least), and its figure is their mean time.
 */
export async function analysisBench(args: string[]): Promise<void> {
  const rounds = Number(args[0] ?? 5);
  const sizes = args.length > 1 ? args.slice(1).map(Number) : [2_500, 10_000];
  for (const [what, v] of Object.entries({ rounds, bars: Math.min(...sizes) }))
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`${what} must be a positive whole number, got ${v}`);
  const say = (msg: string) => console.log(`[bench] ${msg}`);
  const stack = await isolatedStack({ slot: 8, only: ['postgres', 'redis', 'temporal'], build: 'the hmm worker', say });
  const { config } = stack;
  const pool = createPool(config, undefined, 'bench');
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const rows: string[] = [];
  try {
    await stack.startApp('hmm-worker');
    for (const n of sizes) {
      const symbol = `BENCH${n}`;
      await importBars(pool, symbol, syntheticBars({ n, seed: 42 }).bars);
      const params = analysisRequestSchema.parse({ symbol });
      // Warm-up of both paths (JIT here and in the worker, connections, caches), timed to size a round.
      const directOnce = await mean(1, () => direct(pool, params));
      const temporalOnce = await mean(1, () => throughTemporal(client, config.hmm.taskQueue, params));
      const repeatsOf = (ms: number) => Math.max(1, Math.ceil(roundMs / ms));
      const [directRepeats, temporalRepeats] = [repeatsOf(directOnce.ms), repeatsOf(temporalOnce.ms)];
      say(`${n} bars: ${rounds} rounds, a round ${directRepeats} direct against ${temporalRepeats} through Temporal`);
      let ours = directOnce.result;
      let temporal = temporalOnce.result;
      const paired = await pairedRounds({
        rounds,
        baseline: async () => {
          const r = await mean(directRepeats, () => direct(pool, params));
          ours = r.result;
          return r.ms;
        },
        subject: async () => {
          const r = await mean(temporalRepeats, () => throughTemporal(client, config.hmm.taskQueue, params));
          temporal = r.result;
          return r.ms;
        },
        onRound: (r, d, t) =>
          say(`${n} bars round ${r + 1}: direct ${ms(d)}, through Temporal ${ms(t)}, ${(t / d).toFixed(2)}`),
      });
      const t = temporal.timings;
      const [d, w] = [paired.baseline.median, paired.subject.median];
      rows.push(
        `  ${String(n).padStart(6)} bars  direct ${ms(d).padStart(9)}  hmmAnalysis ${ms(w).padStart(9)}  ` +
          `ratio ${formatSpread(paired.ratio)}  overhead ${ms(w - d)}  ` +
          `(in the workflow: fit ${t.fitMs} ms, decode+store regimes ${t.decodeMs} ms, store ${t.storeMs} ms; ` +
          `log-likelihood ${temporal.fit.logLikelihood.toFixed(3)} vs ${ours.toFixed(3)})`,
      );
    }
  } finally {
    await Promise.allSettled([pool.end(), connection.close()]);
    await stack.stop();
  }
  console.log(`
hmm analysis benchmark: a full hmmAnalysis through Temporal against the engine called directly on the same bars
(3 states, diag, log return + volatility + ATR features, 4 restarts; medians of the rounds' mean times)
${rows.join('\n')}`);
}

/** The analysis's computation without Temporal, storage or cache. Returns the log-likelihood. */
async function direct(pool: Pool, params: AnalysisParams): Promise<number> {
  const bars = await readBars(pool, params.symbol);
  const { obs } = regimeFeatures(bars);
  // The engine as the worker's activity runs it, without its heartbeats.
  const { best: fit } = await fitLocally(obs, params, { onStep: () => {}, checkStop: () => {} });
  decode(fit.model, obs);
  filtered(fit.model, obs);
  return fit.logLikelihood;
}

function throughTemporal(client: Client, taskQueue: string, params: AnalysisParams) {
  return client.workflow.execute<HmmAnalysisWorkflow>(hmmAnalysisWorkflowType, {
    ...hmmAnalysisStartOptions(params, taskQueue),
  });
}

/** A round of each side runs analyses for this long at least. */
const roundMs = 2_000;

async function mean<T>(repeats: number, fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  let result!: T;
  const started = performance.now();
  for (let i = 0; i < repeats; i++) result = await fn();
  return { ms: (performance.now() - started) / repeats, result };
}

const ms = (v: number) => `${v.toFixed(0)} ms`;

export default analysisBench;
