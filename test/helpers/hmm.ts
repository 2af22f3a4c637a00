import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HmmParams } from '../../lib/hmm';

export const root = join(__dirname, '..', '..');

/** Runs scripts/hmm/hmmlearn_reference.py with the project's venv on a JSON input. */
export function hmmlearn(mode: 'fit' | 'score', input: unknown): any {
  const dir = mkdtempSync(join(tmpdir(), 'hmm-ref-'));
  try {
    const file = join(dir, 'in.json');
    writeFileSync(file, JSON.stringify(input));
    const out = execFileSync(
      join(root, '.venv/bin/python'),
      [join(root, 'scripts/hmm/hmmlearn_reference.py'), mode, file],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
        env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
      },
    );
    return JSON.parse(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function params(
  p: { startprob: number[]; transmat: number[][]; means: number[][]; covars: number[] | number[][] | number[][][] },
  covarianceType: 'diag' | 'full' = 'diag',
): HmmParams {
  const k = p.startprob.length;
  return {
    k,
    d: p.means[0].length,
    covarianceType,
    startprob: Float64Array.from(p.startprob),
    transmat: Float64Array.from(p.transmat.flat()),
    means: Float64Array.from(p.means.flat()),
    covars: Float64Array.from((p.covars as number[][][]).flat(2)),
  };
}

/** Share of positions where the path equals the truth under the best relabelling of states. */
export function accuracyUpToRelabelling(path: ArrayLike<number>, truth: ArrayLike<number>, k: number): number {
  let best = 0;
  for (const perm of permutations(k)) {
    let ok = 0;
    for (let t = 0; t < path.length; t++) if (perm[path[t]] === truth[t]) ok++;
    best = Math.max(best, ok / path.length);
  }
  return best;
}

function permutations(k: number): number[][] {
  if (k === 1) return [[0]];
  return permutations(k - 1).flatMap((p) =>
    Array.from({ length: k }, (_, i) => [...p.slice(0, i), k - 1, ...p.slice(i)]),
  );
}

export const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));

/** A matrix written row by row on one line: `matrix('0.7 0.3 | 0.4 0.6')`. */
export const matrix = (rows: string): number[][] => rows.split('|').map((r) => r.trim().split(/\s+/).map(Number));
