import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analysisBench } from './hmm-analysis';
import { formatSpread, pairedRounds } from './support/rounds';
import { fitFrom, modelToJson, syntheticBars, returnObservations, type HmmParams, type Observations } from '../lib/hmm';

/**
 * `npm run bench -- hmm [engine|analysis|all] [...]`, all by default:
 * - engine [nIter=100] [rounds=5] [sizes...]: see engineBench.
 * - analysis [rounds=5] [bars...]: see analysisBench (bench/hmm-analysis.ts).
 */
export default async function bench(args: string[]): Promise<void> {
  const [mode, ...rest] = /^(engine|analysis|all)$/.test(args[0] ?? '') ? args : ['all', ...args];
  if (mode !== 'analysis') await engineBench(mode === 'all' ? [] : rest);
  if (mode !== 'engine') await analysisBench(mode === 'all' ? [] : rest);
}

/** A round of each arm runs fits for this long at least, so a round is not one preempted fit. */
const roundSeconds = 2;

/**
 * Baum-Welch in this engine against hmmlearn (the project's venv) on the same daily
 * returns from the same initial parameters: 3 states, diagonal covariance, a fixed
 * number of iterations (no early stop), one thread each. After a warm-up, paired rounds
 * (ABBA): in each, each side fits as many times as fill about 2 s (once at least) and
 * its figure is the mean time of a fit (fit only: no interpreter start, no data loading).
 * Prints the ratio engine / hmmlearn as the median of the rounds ± half their range
 * (target <= 1.0, stretch 0.5) and the log-likelihood difference.
 */
async function engineBench(args: string[]): Promise<void> {
  const nIter = Number(args[0] ?? 100);
  const rounds = Number(args[1] ?? 5);
  const sizes = args.length > 2 ? args.slice(2).map(Number) : [10_000, 100_000];
  for (const [what, v] of Object.entries({ nIter, rounds, size: Math.min(...sizes) }))
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`${what} must be a positive whole number, got ${v}`);
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
      const file = join(dir, `in-${n}.json`);
      const hmmlearn = (repeats: number) => {
        writeFileSync(
          file,
          JSON.stringify({ X: Array.from(obs.data, (v) => [v]), ...modelToJson(init), nIter, repeats }),
        );
        return JSON.parse(
          execFileSync(join(root, '.venv/bin/python'), [join(root, 'scripts/hmm/hmmlearn_reference.py'), 'fit', file], {
            encoding: 'utf8',
            maxBuffer: 1 << 28,
            env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
          }),
        ) as { logLikelihood: number; seconds: number[] };
      };
      const engine = (repeats: number) => {
        let result!: ReturnType<typeof fitFrom>;
        const started = process.hrtime.bigint();
        for (let i = 0; i < repeats; i++) result = fitFrom(obs, init, { nIter });
        return { seconds: Number(process.hrtime.bigint() - started) / 1e9 / repeats, result };
      };
      // One fit each: the warm-up, and the time that sets how many fits fill a round.
      const first = { ours: engine(1), ref: hmmlearn(1) };
      const repeatsOf = (s: number) => Math.max(1, Math.ceil(roundSeconds / s));
      const [oursRepeats, refRepeats] = [repeatsOf(first.ours.seconds), repeatsOf(first.ref.seconds[0]!)];
      console.log(
        `[bench] n=${n}: ${rounds} rounds, a round ${oursRepeats} engine fit(s) against ${refRepeats} hmmlearn fit(s)`,
      );
      const paired = await pairedRounds({
        rounds,
        baseline: async () => mean(hmmlearn(refRepeats).seconds),
        subject: async () => engine(oursRepeats).seconds,
        onRound: (r, theirs, ours) =>
          console.log(
            `[bench] n=${n} round ${r + 1}: engine ${ms(ours)}, hmmlearn ${ms(theirs)}, ratio ${(ours / theirs).toFixed(3)}`,
          ),
      });
      const ll = first.ours.result.logLikelihood;
      const diff = Math.abs(ll - first.ref.logLikelihood) / Math.abs(first.ref.logLikelihood);
      rows.push(
        `  ${String(n).padStart(7)} points  engine ${ms(paired.subject.median).padStart(9)}  hmmlearn ${ms(paired.baseline.median).padStart(9)}  ` +
          `ratio ${formatSpread(paired.ratio, 3)}  log-likelihood ${ll.toFixed(4)} vs ${first.ref.logLikelihood.toFixed(4)} (relative difference ${diff.toExponential(1)})`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`
hmm benchmark: Baum-Welch, 3 states, diag, ${nIter} iterations from the same start, one thread; times are medians of the rounds' mean fit
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

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
