import { parseArgs } from 'node:util';
import { AppError, errorMessage } from '../../lib/errors';
import { decode, filtered, fitHmm, FIT_DEFAULTS, modelToJson, score, type Observations } from '../../lib/hmm';
import { loadConfig } from '../../lib/infra/config';
import { createPool } from '../../lib/infra/db';
import { readData, readModel } from './data-file';
import { generateBars, importCsv } from './market-data';

const usage = `usage:
  hmm fit --data <file> --states <k> [--covariance diag|full] [--seed <s>] [--restarts <r>] [--n-iter <n>] [--tol <t>] [--columns a,b]
      prints {model, logLikelihood, converged, iterations, states, filtered}
  hmm score --model <file> --data <file> [--columns a,b]
      prints {logLikelihood, states}: the forward-algorithm log-likelihood and the Viterbi path
  hmm import <csv> [--symbol <S>]
      bars into market_bars (columns time, open, high, low, close[, volume][, symbol]); a bar seen again is replaced
  hmm generate --symbol <S> --bars <n> [--seed <s>] [--start <date>]
      synthetic regime-switching daily bars into market_bars (low, mid and high volatility)
data: JSON {"X": [[...], ...]} (rows × features) or CSV with a header; model: JSON as fit prints it
import and generate write to the database of DATABASE_URL (the local stack's by default)`;

/** A flag's number, or a usage error that names the flag and the value given. */
function numberFlag(name: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new AppError('ValidationError', `--${name} is required`);
    return fallback;
  }
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v))
    throw new AppError('ValidationError', `--${name} must be a number, got ${JSON.stringify(value)}`);
  return v;
}

function required(name: string, value: string | undefined): string {
  if (!value) throw new AppError('ValidationError', `--${name} <file> is required`);
  return value;
}

const rows = (a: ArrayLike<number>, n: number, k: number): number[][] =>
  Array.from({ length: n }, (_, t) => Array.from({ length: k }, (_, s) => a[t * k + s]));

function fit(values: Record<string, string | undefined>): unknown {
  const covariance = values.covariance ?? FIT_DEFAULTS.covarianceType;
  if (covariance !== 'diag' && covariance !== 'full') {
    throw new AppError('ValidationError', `--covariance must be diag or full, got ${JSON.stringify(covariance)}`);
  }
  const obs: Observations = readData(required('data', values.data), columns(values.columns));
  const result = fitHmm(obs, {
    states: numberFlag('states', values.states),
    covarianceType: covariance,
    seed: numberFlag('seed', values.seed, FIT_DEFAULTS.seed),
    restarts: numberFlag('restarts', values.restarts, FIT_DEFAULTS.restarts),
    nIter: numberFlag('n-iter', values['n-iter'], FIT_DEFAULTS.nIter),
    tol: numberFlag('tol', values.tol, FIT_DEFAULTS.tol),
  });
  const f = filtered(result.model, obs);
  return {
    model: { ...modelToJson(result.model), labels: result.labels },
    logLikelihood: result.logLikelihood,
    converged: result.converged,
    iterations: result.iterations,
    states: Array.from(decode(result.model, obs).path),
    filtered: rows(f.filtered, obs.n, result.model.k),
  };
}

function scoreCommand(values: Record<string, string | undefined>): unknown {
  const model = readModel(required('model', values.model));
  const obs = readData(required('data', values.data), columns(values.columns));
  return { logLikelihood: score(model, obs), states: Array.from(decode(model, obs).path) };
}

const columns = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((c) => c.trim()));

/** import and generate: the only commands that touch the database. */
async function withPool<T>(fn: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const pool = createPool(loadConfig(), undefined, 'hmm-cli');
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

function dataCommand(command: string, positionals: string[], values: Record<string, string | undefined>) {
  if (command === 'import') {
    if (positionals.length !== 1) throw new AppError('ValidationError', 'import takes one CSV file: hmm import <csv>');
    return withPool((pool) => importCsv(pool, positionals[0], values.symbol));
  }
  if (!values.symbol) throw new AppError('ValidationError', '--symbol is required');
  const symbol = values.symbol;
  return withPool((pool) =>
    generateBars(pool, {
      symbol,
      bars: numberFlag('bars', values.bars),
      seed: numberFlag('seed', values.seed, 0),
      start: values.start,
    }),
  );
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: Object.fromEntries(
        [
          'data',
          'model',
          'states',
          'covariance',
          'seed',
          'restarts',
          'n-iter',
          'tol',
          'columns',
          'symbol',
          'bars',
          'start',
        ].map((o) => [o, { type: 'string' as const }]),
      ),
    });
  } catch (err) {
    console.error(`${errorMessage(err)}\n${usage}`);
    return 2;
  }
  const [command, ...extra] = parsed.positionals;
  const known = ['fit', 'score', 'import', 'generate'];
  if (!known.includes(command) || (extra.length > 0 && command !== 'import')) {
    console.error(command ? `unknown command ${JSON.stringify([command, ...extra].join(' '))}\n${usage}` : usage);
    return 2;
  }
  try {
    const out =
      command === 'fit'
        ? fit(parsed.values)
        : command === 'score'
          ? scoreCommand(parsed.values)
          : await dataCommand(command, extra, parsed.values);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof AppError && err.type === 'ValidationError') {
      console.error(`hmm ${command}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
