-- Up Migration
-- Canary rollouts (the canaryRollout workflow): one row per rollout, every transition and
-- measurement as an event, and an incident per rollback or abort naming what failed. The
-- workflow writes them through idempotent activities: (rollout, seq) is the event's key,
-- so a retried write is a no-op.
CREATE TABLE rollouts (
  id text PRIMARY KEY,                 -- the workflow's first run id: stable across continue-as-new
  workflow_id text NOT NULL,           -- rollout-<target>
  target text NOT NULL,
  version text,
  spec jsonb NOT NULL,
  requested_by text,
  phase text NOT NULL,
  step_index integer NOT NULL DEFAULT 0,
  weight integer NOT NULL DEFAULT 0,
  attempt integer NOT NULL DEFAULT 1,
  reason text,
  last_seq integer NOT NULL DEFAULT 0, -- the newest event applied here: a late older one never overwrites it
  started_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX rollouts_workflow ON rollouts (workflow_id, started_at DESC);
CREATE INDEX rollouts_started ON rollouts (started_at DESC);

CREATE TABLE rollout_events (
  rollout_id text NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  at timestamptz NOT NULL,             -- workflow time of the transition or measurement
  kind text NOT NULL CHECK (kind IN ('transition', 'measurement')),
  action text,                         -- transition: start, step, promote, abort, rollback, ...
  from_phase text,
  to_phase text,
  step_index integer,
  weight integer,
  attempt integer,
  analysis text,                       -- measurement: step or background
  metric text,
  verdict text,                        -- pass, fail, inconclusive
  canary double precision,
  baseline double precision,
  reason text,
  detail jsonb,                        -- a measurement's checks with their numbers
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rollout_id, seq)
);

CREATE TABLE rollout_incidents (
  rollout_id text NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  seq integer NOT NULL,                -- the transition event that took the weight to 0
  kind text NOT NULL CHECK (kind IN ('rollback', 'abort')),
  at timestamptz NOT NULL,
  reason text NOT NULL,
  step_index integer NOT NULL,
  weight_before integer NOT NULL,
  attempt integer NOT NULL,
  failing jsonb NOT NULL DEFAULT '[]',       -- deciding metrics that failed or were inconclusive: counts and reasons
  last_verdicts jsonb NOT NULL DEFAULT '[]', -- the latest verdict of every metric, with its numbers
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rollout_id, seq)
);

-- Down Migration
DROP TABLE rollout_incidents;
DROP TABLE rollout_events;
DROP TABLE rollouts;
