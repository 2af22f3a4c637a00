-- Up Migration
-- Steps written by the self-check workflow: one row per (workflow, step), so a
-- retried activity cannot write a step twice.
CREATE TABLE self_check_steps (
  workflow_id text NOT NULL,
  step text NOT NULL,
  correlation_id text,
  written_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workflow_id, step)
);

-- Down Migration
DROP TABLE self_check_steps;
