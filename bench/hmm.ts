import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analysisBench } from './hmm-analysis';
import { fitFrom, modelToJson, syntheticBars, returnObservations, type HmmParams, type Observations } from '../lib/hmm';

/**
 * `npm run bench -- hmm [engine|analysis|all] [...]`, all by default:
 * - engine [nIter] [sizes...]: see engineBench.
 * - analysis [bars...]: see analysisBench (bench/hmm-analysis.ts).
 */
export default async function bench(args: string[]): Promise<void> {
  const [mode, ...rest] = /^(engine|analysis|all)$/.test(args[0] ?? '') ? args : ['all', ...args];
  if (mode !== 'analysis') await engineBench(mode === 'all' ? [] : rest);
  if (mode !== 'engine') await analysisBench(mode === 'all' ? [] : rest);
}

/**
 * Baum-Welch in this engine against hmmlearn (the project's venv) on the same daily
 * returns from the same initial parameters: 3 states, diagonal covariance, a fixed
 * number of iterations (no early stop), one thread each. Prints both times (fit only: no
 * interpreter start, no data loading), the ratio engine / hmmlearn (target <= 1.0,
 * stretch 0.5) and the log-likelihood difference.
 */
async function engineBench(args: string[]): Promise<void> {
  const nIter = Number(args[0] ?? 100);
  const sizes = args.length > 1 ? args.slice(1).map(Number) : [10_000, 100_000];
  const root = join(__dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'bench-hmm-'));
  const rows: string[] = [];
  try {
    // JIT warm-up on a small series, so the timed runs measure compiled code.
    const warm = series(2_000);
    fitFrom(warm, start(warm), { nIter: 20 });
    for (const n of sizes) {
      const obs = series(n);
      const init = start(obs);
      const repeats = n <= 20_000 ? 3 : 1;
      const ours = time(() => fitFrom(obs, init, { nIter }), repeats);
      const file = join(dir, `in-${n}.json`);
      writeFileSync(
        file,
        JSON.stringify({ X: Array.from(obs.data, (v) => [v]), ...modelToJson(init), nIter, repeats }),
      );
      console.log(`[bench] n=${n}: engine ${ms(ours.seconds)}; running hmmlearn (${repeats} run(s))`);
      const ref = JSON.parse(
        execFileSync(join(root, '.venv/bin/python'), [join(root, 'scripts/hmm/hmmlearn_reference.py'), 'fit', file], {
          encoding: 'utf8',
          maxBuffer: 1 << 28,
          env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
        }),
      ) as { logLikelihood: number; seconds: number[] };
      const theirs = Math.min(...ref.seconds);
      const diff = Math.abs(ours.result.logLikelihood - ref.logLikelihood) / Math.abs(ref.logLikelihood);
      rows.push(
        `  ${String(n).padStart(7)} points  engine ${ms(ours.seconds).padStart(9)}  hmmlearn ${ms(theirs).padStart(9)}  ` +
          `ratio ${(ours.seconds / theirs).toFixed(3)}  log-likelihood ${ours.result.logLikelihood.toFixed(4)} vs ${ref.logLikelihood.toFixed(4)} (relative difference ${diff.toExponential(1)})`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`
hmm benchmark: Baum-Welch, 3 states, diag, ${nIter} iterations from the same start, one thread, best of 3 (1 at 100,000)
${rows.join('\n')}
  target: ratio <= 1.0 (stretch 0.5), log-likelihoods equal to 1e-6`);
}

/** Daily log returns of synthetic regime-switching prices (low, mid and high volatility). */
function series(n: number): Observations {
  return returnObservations(syntheticBars({ n: n + 1, seed: 42 }).bars.map((b) => b.close));
}

/** A neutral start both engines share: the series' mean, variances spread around its variance. */
function start(obs: Observations): HmmParams {
  let mean = 0;
  for (const v of obs.data) mean += v;
  mean /= obs.n;
  let variance = 0;
  for (const v of obs.data) variance += (v - mean) ** 2;
  variance /= obs.n;
  return {
    k: 3,
    d: 1,
    covarianceType: 'diag',
    startprob: Float64Array.from([1 / 3, 1 / 3, 1 / 3]),
    transmat: Float64Array.from([0.9, 0.05, 0.05, 0.05, 0.9, 0.05, 0.05, 0.05, 0.9]),
    means: Float64Array.from([mean + 1e-3, mean, mean - 1e-3]),
    covars: Float64Array.from([0.3 * variance, variance, 3 * variance]),
  };
}

function time<T>(fn: () => T, repeats: number): { seconds: number; result: T } {
  let best = Infinity;
  let result!: T;
  for (let i = 0; i < repeats; i++) {
    const started = process.hrtime.bigint();
    result = fn();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
  }
  return { seconds: best, result };
}

const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
