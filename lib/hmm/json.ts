import { z } from 'zod';
import { validationError } from '../errors';
import { type CovarianceType, type HmmParams } from './model';
import { validateParams } from './validate';

/** A model as plain JSON: diag covars are k×d variances, full covars k×d×d matrices. */
export interface ModelJson {
  startprob: number[];
  transmat: number[][];
  means: number[][];
  covars: number[][] | number[][][];
  covarianceType: CovarianceType;
}

/** A JSON model's shape, as a file or a remote engine gives it; modelFromJson checks its numbers. */
export const modelJsonSchema = z.object({
  startprob: z.array(z.number()),
  transmat: z.array(z.array(z.number())),
  means: z.array(z.array(z.number())),
  covars: z.union([z.array(z.array(z.number())), z.array(z.array(z.array(z.number())))]),
  covarianceType: z.enum(['diag', 'full']),
}) satisfies z.ZodType<ModelJson>;

const rows = (a: Float64Array, r: number, c: number): number[][] =>
  Array.from({ length: r }, (_, i) => Array.from(a.subarray(i * c, i * c + c)));

export function modelToJson(p: HmmParams): ModelJson {
  const { k, d } = p;
  return {
    startprob: Array.from(p.startprob),
    transmat: rows(p.transmat, k, k),
    means: rows(p.means, k, d),
    covars:
      p.covarianceType === 'diag'
        ? rows(p.covars, k, d)
        : Array.from({ length: k }, (_, s) => rows(p.covars.subarray(s * d * d, (s + 1) * d * d), d, d)),
    covarianceType: p.covarianceType,
  };
}

/** Flattens and validates a JSON model (probabilities summing to 1, covariances positive-definite). */
export function modelFromJson(m: ModelJson): HmmParams {
  const k = Array.isArray(m.startprob) ? m.startprob.length : 0;
  const d = Array.isArray(m.means) && Array.isArray(m.means[0]) ? m.means[0].length : 0;
  if (m.covarianceType !== 'diag' && m.covarianceType !== 'full') {
    throw validationError(`covarianceType must be 'diag' or 'full', got ${String(m.covarianceType)}`);
  }
  const flat = (name: string, v: unknown, dims: number[]): Float64Array => {
    const out: number[] = [];
    const walk = (x: unknown, level: number, where: string): void => {
      if (level === dims.length) {
        if (typeof x !== 'number') throw validationError(`${where} must be a number, got ${JSON.stringify(x)}`);
        out.push(x);
        return;
      }
      if (!Array.isArray(x) || x.length !== dims[level]) {
        throw validationError(`${where} must be an array of ${dims[level]} for ${k} states and ${d} feature(s)`);
      }
      x.forEach((y, i) => walk(y, level + 1, `${where}[${i}]`));
    };
    walk(v, 0, name);
    return Float64Array.from(out);
  };
  const p: HmmParams = {
    k,
    d,
    covarianceType: m.covarianceType,
    startprob: flat('startprob', m.startprob, [k]),
    transmat: flat('transmat', m.transmat, [k, k]),
    means: flat('means', m.means, [k, d]),
    covars: flat('covars', m.covars, m.covarianceType === 'diag' ? [k, d] : [k, d, d]),
  };
  validateParams(p);
  return p;
}
