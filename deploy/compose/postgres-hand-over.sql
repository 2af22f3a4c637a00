-- Hands what the bootstrap superuser (oid 10, the role initdb made) owns in the current
-- database, outside the system schemas, to the role named by the setting
-- orchestrator.app_role. Earlier versions ran the application as that superuser, so
-- its tables are owned by it; a non-superuser must own them to migrate them.
-- REASSIGN OWNED refuses the bootstrap role, hence one ALTER per object: tables before
-- sequences, since a column's sequence follows its table and refuses to move alone.
-- Nothing to do in a database the application never used as a superuser.
DO $$
DECLARE
  app text := current_setting('orchestrator.app_role');
  r record;
BEGIN
  FOR r IN SELECT nspname FROM pg_namespace
            WHERE nspowner = 10 AND nspname <> 'information_schema' AND nspname NOT LIKE 'pg\_%' LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', r.nspname, app);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relowner = 10 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%' LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
      r.rel, app);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relowner = 10 AND c.relkind = 'S'
              AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%' LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO %I', r.rel, app);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS fn, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.proowner = 10 AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%' LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', CASE r.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END, r.fn, app);
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS typ FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            LEFT JOIN pg_class c ON c.oid = t.typrelid
            WHERE t.typowner = 10 AND (t.typtype IN ('e', 'd', 'r') OR c.relkind = 'c')
              AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%' LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', r.typ, app);
  END LOOP;
END $$;
