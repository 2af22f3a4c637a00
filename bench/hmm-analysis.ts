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

/**
 * `npm run bench -- hmm analysis [bars...]`: on an isolated stack of its own (test slot 8
 * unless TEST_STACK_SLOT says otherwise) with the hmm worker as the stack runs it, a full
 * hmmAnalysis through Temporal (load, fit with a heartbeat per EM round, decode, store
 * every regime, cache) against the same work done by calling the engine directly in this
 * process on the same bars (read from Postgres, features, fit, Viterbi, filtered).
 * Default parameters: 3 states, diag, the regime features, 4 restarts. Best of 3 each.
 */
export async function analysisBench(args: string[]): Promise<void> {
  const sizes = args.length > 0 ? args.map(Number) : [2_500, 10_000];
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
      // Warm-up of both paths (JIT here and in the worker, connections, caches).
      await direct(pool, params);
      await throughTemporal(client, config.hmm.taskQueue, params);
      const ours = await best(3, () => direct(pool, params));
      const temporal = await best(3, () => throughTemporal(client, config.hmm.taskQueue, params));
      const t = temporal.result.timings;
      say(`${n} bars: direct ${ms(ours.ms)}, through Temporal ${ms(temporal.ms)}`);
      rows.push(
        `  ${String(n).padStart(6)} bars  direct ${ms(ours.ms).padStart(9)}  hmmAnalysis ${ms(temporal.ms).padStart(9)}  ` +
          `ratio ${(temporal.ms / ours.ms).toFixed(2)}  overhead ${ms(temporal.ms - ours.ms)}  ` +
          `(in the workflow: fit ${t.fitMs} ms, decode+store regimes ${t.decodeMs} ms, store ${t.storeMs} ms; ` +
          `log-likelihood ${temporal.result.fit.logLikelihood.toFixed(3)} vs ${ours.result.toFixed(3)})`,
      );
    }
  } finally {
    await Promise.allSettled([pool.end(), connection.close()]);
    await stack.stop();
  }
  console.log(`
hmm analysis benchmark: a full hmmAnalysis through Temporal against the engine called directly on the same bars
(3 states, diag, log return + volatility + ATR features, 4 restarts, best of 3)
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

async function best<T>(repeats: number, fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  let fastest = Infinity;
  let result!: T;
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    result = await fn();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return { ms: fastest, result };
}

const ms = (v: number) => `${v.toFixed(0)} ms`;

export default analysisBench;
