-- Up Migration
-- Market data and HMM regime analyses. Bars are keyed by (symbol, time), so an import
-- that sees a bar again replaces it instead of adding a second one.
CREATE TABLE market_bars (
  symbol text NOT NULL,
  time timestamptz NOT NULL,
  open double precision NOT NULL CHECK (open > 0),
  high double precision NOT NULL CHECK (high > 0),
  low double precision NOT NULL CHECK (low > 0),
  close double precision NOT NULL CHECK (close > 0),
  volume double precision NOT NULL DEFAULT 0 CHECK (volume >= 0),
  PRIMARY KEY (symbol, time),
  CHECK (high >= low)
);

-- One row per analysis request: the id is the workflow id hmm-<symbol>-<params hash>, so
-- running the same request again replaces its result. run_id is the Temporal run that
-- wrote the row; every write after the start is guarded by it, so a stale run's late
-- activity cannot overwrite a newer run's result.
CREATE TABLE hmm_runs (
  id text PRIMARY KEY,
  run_id text NOT NULL,
  symbol text NOT NULL,
  params jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  engine text,
  bars integer,
  observations integer,
  data_from timestamptz,
  data_to timestamptz,
  states integer,
  log_likelihood double precision,
  converged boolean,
  iterations integer,
  candidates jsonb,
  timings jsonb NOT NULL DEFAULT '{}',
  error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX hmm_runs_symbol ON hmm_runs (symbol, finished_at DESC);

-- The fitted model of a run: ModelJson (startprob, transmat, means, covars), states
-- ordered from calmest to most volatile, their labels and the feature names.
CREATE TABLE hmm_models (
  run_id text PRIMARY KEY REFERENCES hmm_runs (id) ON DELETE CASCADE,
  params jsonb NOT NULL,
  labels text[] NOT NULL,
  features text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The regime of every analysed bar: the Viterbi state, and the filtered probabilities
-- P(state | bars up to this one) of every state (`filtered`), of the Viterbi state
-- (`probability`). Filtered, not smoothed: they are what a live signal could have known.
CREATE TABLE hmm_regimes (
  run_id text NOT NULL REFERENCES hmm_runs (id) ON DELETE CASCADE,
  time timestamptz NOT NULL,
  state smallint NOT NULL,
  label text NOT NULL,
  probability double precision NOT NULL,
  filtered double precision[] NOT NULL,
  PRIMARY KEY (run_id, time)
);

-- Down Migration
DROP TABLE hmm_regimes;
DROP TABLE hmm_models;
DROP TABLE hmm_runs;
DROP TABLE market_bars;
