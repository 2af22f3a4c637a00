-- Up Migration
-- API keys: the prefix finds the row, the secret is kept only as a scrypt hash with its
-- salt and parameters (so they can be raised for new keys without breaking old ones).
CREATE TABLE api_keys (
  id bigserial PRIMARY KEY,
  prefix text NOT NULL UNIQUE,
  secret_hash bytea NOT NULL,
  secret_salt bytea NOT NULL,
  hash_params jsonb NOT NULL,
  name text NOT NULL,
  scopes text[] NOT NULL,
  tier text NOT NULL CHECK (tier IN ('free', 'standard', 'professional', 'enterprise')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  usage_count bigint NOT NULL DEFAULT 0,
  revoked_at timestamptz
);

-- Usage batches already written, so that a flush retried after its commit counts nothing twice.
CREATE TABLE api_key_usage_flushes (
  batch_id text PRIMARY KEY,
  flushed_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE api_key_usage_flushes;
DROP TABLE api_keys;
