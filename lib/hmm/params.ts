import { covarsLength, type CovarianceType, type HmmParams } from './model';

export function emptyParams(k: number, d: number, covarianceType: CovarianceType): HmmParams {
  return {
    k,
    d,
    covarianceType,
    startprob: new Float64Array(k),
    transmat: new Float64Array(k * k),
    means: new Float64Array(k * d),
    covars: new Float64Array(covarsLength(k, d, covarianceType)),
  };
}

export function cloneParams(p: HmmParams): HmmParams {
  return {
    k: p.k,
    d: p.d,
    covarianceType: p.covarianceType,
    startprob: p.startprob.slice(),
    transmat: p.transmat.slice(),
    means: p.means.slice(),
    covars: p.covars.slice(),
  };
}
