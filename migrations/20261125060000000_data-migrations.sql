-- Up Migration
-- Data migrations (batched backfills run by the batchMigration workflow) keep every
-- run and every batch here, so progress and audits survive workers, servers and
-- the workflow's own history.
CREATE TABLE migration_runs (
  id text PRIMARY KEY,                 -- the workflow id, migration-<name>-<n>
  migration text NOT NULL,
  seq integer NOT NULL,
  kind text NOT NULL CHECK (kind IN ('forward', 'reverse')),
  reverses text REFERENCES migration_runs (id),
  dry_run boolean NOT NULL DEFAULT false,
  state text NOT NULL,
  params jsonb NOT NULL DEFAULT '{}',
  rows_done bigint NOT NULL DEFAULT 0,
  rows_changed bigint NOT NULL DEFAULT 0,
  batches integer NOT NULL DEFAULT 0,
  estimated_total bigint,
  cursor text,
  batch_size integer,
  max_rows_per_second integer,
  last_error text,
  verify jsonb,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  UNIQUE (migration, seq)
);

-- One row per applied batch, written in the batch's own transaction: the unique
-- (run, partition, seq) is what makes a retried batch a no-op. `originals` holds
-- [key, old value] pairs of the rows the batch changed, which a reverse run restores.
CREATE TABLE migration_batches (
  id bigserial PRIMARY KEY,
  run_id text NOT NULL REFERENCES migration_runs (id) ON DELETE CASCADE,
  partition integer NOT NULL DEFAULT 0,
  seq integer NOT NULL,
  from_key text,                       -- exclusive; null = from the start
  to_key text,                         -- inclusive: the batch's last key
  rows integer NOT NULL,
  changed integer NOT NULL,
  ms integer NOT NULL,
  originals jsonb,
  source_batch bigint REFERENCES migration_batches (id),
  applied_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, partition, seq)
);
CREATE INDEX migration_batches_source ON migration_batches (source_batch) WHERE source_batch IS NOT NULL;

-- The seed's trades, whose risk_score the trades-risk-score migration recomputes.
CREATE TABLE trades (
  id bigint PRIMARY KEY,
  symbol text NOT NULL,
  quantity integer NOT NULL,
  premium numeric(12, 2) NOT NULL,
  risk_score numeric(6, 2),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE trades;
DROP TABLE migration_batches;
DROP TABLE migration_runs;
