-- Run by the `postgres-roles` service on every `up`, as the cluster's superuser
-- (POSTGRES_SUPERUSER): the only use of that account. The application connects as
-- APP_DB_USER, which owns the schema the migrations write to and nothing more: no
-- superuser (which could run programs on the server with COPY ... PROGRAM), no new
-- databases or roles.
-- Running it again changes nothing but the password, so rotating APP_DB_PASSWORD is
-- a restart.
\set ON_ERROR_STOP on
\getenv app_user APP_DB_USER
\getenv app_password APP_DB_PASSWORD

SELECT format('CREATE ROLE %I LOGIN', :'app_user')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec

-- Also takes back any attribute granted by hand since.
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
              :'app_user', :'app_password') \gexec

-- The batch migration's throttle reads other sessions' activity in pg_stat_activity.
SELECT format('GRANT pg_monitor TO %I', :'app_user') \gexec

SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), :'app_user') \gexec
SELECT format('ALTER SCHEMA public OWNER TO %I', :'app_user') \gexec

-- A volume of an earlier version, whose application ran as the superuser: its tables go
-- to the application's role, which could not migrate them otherwise.
SELECT set_config('orchestrator.app_role', :'app_user', false) AS app_role \gset
\ir postgres-hand-over.sql
