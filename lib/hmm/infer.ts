import { validationError } from '../errors';
import type { HmmParams, Observations } from './model';
import { emissionLogLikelihood } from './gaussian';
import { createWorkspace, forward, forwardBackward } from './forward-backward';
import { viterbi } from './viterbi';
import { validateFinite, validateParams } from './validate';

function checked(p: HmmParams, obs: Observations): Float64Array {
  validateParams(p);
  validateFinite(obs);
  if (obs.d !== p.d) throw validationError(`the data has ${obs.d} feature(s) but the model expects ${p.d}`);
  return emissionLogLikelihood(obs, p);
}

/** Log-likelihood of the data under the model (forward algorithm). */
export function score(p: HmmParams, obs: Observations): number {
  const logB = checked(p, obs);
  return forward(logB, p.startprob, p.transmat, createWorkspace(obs.n, p.k));
}

/** Most likely state path (Viterbi) and its joint log-probability with the data. */
export function decode(p: HmmParams, obs: Observations): { path: Int32Array; logProb: number } {
  return viterbi(checked(p, obs), obs.n, p.k, p.startprob, p.transmat);
}

/**
 * Filtered probabilities P(state_t | x_1..t), n×k: what a live signal may use, since
 * they see no observation after t (smoothed posteriors and Viterbi do).
 */
export function filtered(p: HmmParams, obs: Observations): { logLikelihood: number; filtered: Float64Array } {
  const ws = createWorkspace(obs.n, p.k);
  const logLikelihood = forward(checked(p, obs), p.startprob, p.transmat, ws);
  return { logLikelihood, filtered: ws.alpha };
}

/** Smoothed posteriors P(state_t | x_1..n) and filtered probabilities, both n×k. */
export function posteriors(
  p: HmmParams,
  obs: Observations,
): { logLikelihood: number; smoothed: Float64Array; filtered: Float64Array } {
  const ws = createWorkspace(obs.n, p.k);
  const logLikelihood = forwardBackward(checked(p, obs), p.startprob, p.transmat, ws);
  return { logLikelihood, smoothed: ws.gamma, filtered: ws.alpha };
}
