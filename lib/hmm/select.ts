import { validationError } from '../errors';
import { freeParameterCount, type Observations } from './model';
import { drain } from './baum-welch';
import { fitHmmSteps, type FitOptions, type FitResult, type FitStep } from './fit';

export type Criterion = 'bic' | 'aic';

export interface Candidate {
  readonly states: number;
  readonly parameters: number;
  readonly logLikelihood: number;
  readonly bic: number;
  readonly aic: number;
  readonly converged: boolean;
}

/**
 * Fits each state count and keeps the one with the lowest information criterion: BIC
 * (-2 ln L + p ln n) by default, which penalises extra states harder than AIC
 * (-2 ln L + 2p) and so resists splitting one regime in two.
 */
export function selectStates(
  obs: Observations,
  states: readonly number[],
  options: Omit<FitOptions, 'states'> & { criterion?: Criterion },
): Selection {
  return drain(selectStatesSteps(obs, states, options));
}

export interface Selection {
  best: FitResult;
  states: number;
  candidates: Candidate[];
}

/** selectStates one EM round at a time, each step naming the state count being fitted. */
export function* selectStatesSteps(
  obs: Observations,
  states: readonly number[],
  options: Omit<FitOptions, 'states'> & { criterion?: Criterion },
): Generator<FitStep & { states: number }, Selection> {
  if (states.length === 0) throw validationError('give at least one state count to choose from');
  const criterion = options.criterion ?? 'bic';
  if (criterion !== 'bic' && criterion !== 'aic')
    throw validationError(`criterion must be 'bic' or 'aic', got ${String(criterion)}`);
  const covarianceType = options.covarianceType ?? 'diag';
  const candidates: Candidate[] = [];
  let best: { fit: FitResult; value: number; states: number } | undefined;
  for (const k of states) {
    const steps = fitHmmSteps(obs, { ...options, states: k });
    let fit: FitResult;
    for (;;) {
      const step = steps.next();
      if (step.done) {
        fit = step.value;
        break;
      }
      yield { states: k, ...step.value };
    }
    const p = freeParameterCount(k, obs.d, covarianceType);
    const c = {
      states: k,
      parameters: p,
      logLikelihood: fit.logLikelihood,
      bic: -2 * fit.logLikelihood + p * Math.log(obs.n),
      aic: -2 * fit.logLikelihood + 2 * p,
      converged: fit.converged,
    };
    candidates.push(c);
    if (!best || c[criterion] < best.value) best = { fit, value: c[criterion], states: k };
  }
  return { best: best!.fit, states: best!.states, candidates };
}
