"""Reference runs of hmmlearn for the parity tests and the benchmark.

Usage: hmmlearn_reference.py fit|score <input.json>

fit   input {X, startprob, transmat, means, covars, covarianceType, nIter, repeats?}:
      Baum-Welch from exactly these parameters (init_params='') for nIter iterations
      (tol=-inf, so it never stops early), maximum likelihood (covars_prior=0,
      means_weight=0), the engine's own estimator. Prints {logLikelihood (score of
      the fitted model), history, seconds (one per repeat, fit only), model}.
score input {X, model}: prints {logLikelihood, states} (forward algorithm and Viterbi).
"""
import json
import os
import sys
import time

# One thread, set before numpy loads its BLAS: the comparison is single-threaded.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
from hmmlearn import hmm  # noqa: E402


def build(model, n_iter=1):
    m = hmm.GaussianHMM(
        n_components=len(model["startprob"]),
        covariance_type=model["covarianceType"],
        n_iter=n_iter,
        tol=-np.inf,
        init_params="",
        params="stmc",
        covars_prior=0.0,
        means_weight=0.0,
    )
    m.startprob_ = np.asarray(model["startprob"], dtype=float)
    m.transmat_ = np.asarray(model["transmat"], dtype=float)
    m.means_ = np.asarray(model["means"], dtype=float)
    m.covars_ = np.asarray(model["covars"], dtype=float)
    m.n_features = m.means_.shape[1]
    return m


def model_json(m):
    covars = m._covars_
    return {
        "startprob": m.startprob_.tolist(),
        "transmat": m.transmat_.tolist(),
        "means": m.means_.tolist(),
        "covars": covars.tolist(),
        "covarianceType": m.covariance_type,
    }


def fit(inp):
    X = np.asarray(inp["X"], dtype=float)
    seconds = []
    m = None
    for _ in range(int(inp.get("repeats", 1))):
        m = build(inp, int(inp["nIter"]))
        started = time.perf_counter()
        m.fit(X)
        seconds.append(time.perf_counter() - started)
    return {
        "logLikelihood": float(m.score(X)),
        "history": [float(v) for v in m.monitor_.history],
        "seconds": seconds,
        "model": model_json(m),
    }


def score(inp):
    X = np.asarray(inp["X"], dtype=float)
    m = build(inp["model"])
    _, states = m.decode(X, algorithm="viterbi")
    return {"logLikelihood": float(m.score(X)), "states": states.tolist()}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("fit", "score"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[2]) as f:
        inp = json.load(f)
    out = fit(inp) if sys.argv[1] == "fit" else score(inp)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
