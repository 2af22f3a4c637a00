#!/bin/sh
# One-shot job of the `temporal-schema` service (temporalio/admin-tools): creates
# Temporal's two databases and brings their schemas to the server's version, so
# the server image itself never changes the schema. Safe on every `up`: setup-schema
# only adds the version table, and update-schema applies what is missing. The local
# stack's real-server mode runs this same file, with the schema of its own build.
set -eu
schema=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"; }

for pair in "$DBNAME:temporal" "$VISIBILITY_DBNAME:visibility"; do
  db=${pair%%:*}
  dir=${pair##*:}
  # Fails when the database exists (every later `up`); a real failure shows in setup-schema.
  sql --db "$db" create || echo "database $db: not created (it exists already, or setup-schema says why)"
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$schema/$dir/versioned"
done
