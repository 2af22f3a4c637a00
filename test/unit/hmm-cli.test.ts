import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelToJson, sampleHmm } from '../../lib/hmm';
import { accuracyUpToRelabelling, hmmlearn, params, relDiff, root } from '../helpers/hmm';

const dir = mkdtempSync(join(tmpdir(), 'hmm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'scripts/hmm/cli.ts'), ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

const truth = params({
  startprob: [0.5, 0.5],
  transmat: [
    [0.98, 0.02],
    [0.03, 0.97],
  ],
  means: [[0.001], [-0.002]],
  covars: [[1e-5], [4e-4]],
});
const { obs, states } = sampleHmm(truth, 2000, 4);
const X = Array.from(obs.data, (v) => [v]);
const dataFile = join(dir, 'data.json');
writeFileSync(dataFile, JSON.stringify({ X }));

test('fit recovers the sampled states and prints a model that score accepts', () => {
  const r = cli('fit', '--data', dataFile, '--states', '2', '--seed', '7', '--restarts', '2');
  expect(r.status).toBe(0);
  const out = r.json();
  expect(Object.keys(out).sort()).toEqual(['converged', 'filtered', 'iterations', 'logLikelihood', 'model', 'states']);
  expect(out.model.labels).toEqual(['low-vol', 'high-vol']);
  expect(out.model.covars[0][0]).toBeLessThan(out.model.covars[1][0]);
  expect(accuracyUpToRelabelling(out.states, states, 2)).toBeGreaterThan(0.95);
  expect(out.filtered).toHaveLength(2000);
  for (const row of out.filtered) expect(row[0] + row[1]).toBeCloseTo(1, 12);

  const modelFile = join(dir, 'fitted.json');
  writeFileSync(modelFile, JSON.stringify(out.model));
  const scored = cli('score', '--model', modelFile, '--data', dataFile).json();
  expect(scored.logLikelihood).toBe(out.logLikelihood);
  expect(scored.states).toEqual(out.states);
});

test('score of the known model is the forward log-likelihood, to 1e-9 of hmmlearn’s score', () => {
  const modelFile = join(dir, 'truth.json');
  writeFileSync(modelFile, JSON.stringify(modelToJson(truth)));
  const out = cli('score', '--model', modelFile, '--data', dataFile).json();
  const ref = hmmlearn('score', { X, model: modelToJson(truth) });
  expect(relDiff(out.logLikelihood, ref.logLikelihood)).toBeLessThan(1e-9);
  expect(out.states).toEqual(ref.states);
});

test('reads CSV with a header, picking numeric columns', () => {
  const csv = join(dir, 'bars.csv');
  writeFileSync(csv, ['date,ret', ...X.map(([v], i) => `2020-01-${i},${v}`)].join('\n'));
  const all = cli('fit', '--data', csv, '--states', '2');
  expect(all.status).toBe(2);
  expect(all.stderr).toContain(
    'line 2, column "date": "2020-01-0" is not a number (pick the numeric columns with --columns)',
  );
  const picked = cli('fit', '--data', csv, '--states', '2', '--seed', '7', '--restarts', '2', '--columns', 'ret');
  expect(picked.status).toBe(0);
  expect(accuracyUpToRelabelling(picked.json().states, states, 2)).toBeGreaterThan(0.95);
});

test.each([
  [['fit', '--data', '/nonexistent/x.json', '--states', '2'], 'cannot read the data file /nonexistent/x.json: ENOENT'],
  [['fit', '--states', '2'], '--data <file> is required'],
  [['fit', '--data', 'DATA', '--states', 'three'], '--states must be a number, got "three"'],
  [['fit', '--data', 'DATA', '--states', '2', '--covariance', 'tied'], '--covariance must be diag or full, got "tied"'],
  [['fit', '--data', 'DATA', '--states', '2', '--n-iter', '0'], 'nIter must be an integer between 1 and 100000, got 0'],
  [['score', '--model', 'DATA', '--data', 'DATA'], 'startprob: Required'],
  [['fit', '--data', 'DATA', '--states', '2', '--bogus'], "Unknown option '--bogus'"],
  [['predict'], 'unknown command "predict"'],
])('%j exits 2 with a clear message', (args, message) => {
  const r = cli(...args.map((a) => (a === 'DATA' ? dataFile : a)));
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(message);
  expect(r.stdout).toBe('');
});
