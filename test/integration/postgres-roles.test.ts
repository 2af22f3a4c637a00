import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { stackSettings } from '../../scripts/stack/parts';
import { binDir, databaseUrl, postgresDataDir, runAs, startPostgres } from '../../scripts/stack/postgres';
import { adminDatabaseUrl } from '../../scripts/stack/postgres-roles';
import { stopProcess } from '../../scripts/stack/proc';
import type { StackSettings } from '../../scripts/stack/settings';
import { freePort } from '../helpers/ports';

/** The project's processes reach Postgres as a role that owns its database and is no superuser. */

async function rows<T>(url: string, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

type RoleRow = { rolsuper: boolean; rolcreaterole: boolean; owner: boolean; monitor: boolean };
const roleSql = `SELECT r.rolsuper, r.rolcreaterole,
         d.datdba = r.oid AS owner, pg_has_role(r.oid, 'pg_monitor', 'member') AS monitor
    FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()`;

test("the app's DATABASE_URL reaches a role that is no superuser, owns its database and may read the server's activity", async () => {
  expect(await rows<RoleRow>(process.env.DATABASE_URL!, roleSql)).toEqual([
    { rolsuper: false, rolcreaterole: false, owner: true, monitor: true },
  ]);
  // What a superuser could do and the app must not: run a program as the server's OS user.
  await expect(rows(process.env.DATABASE_URL!, "COPY (SELECT 1) TO PROGRAM 'true'")).rejects.toMatchObject({
    code: '42501',
  });
});

test('the stack keeps a superuser of its own for its setup', async () => {
  const s = stackSettings('test');
  expect(
    await rows<{ rolsuper: boolean }>(
      adminDatabaseUrl(s),
      'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
    ),
  ).toEqual([{ rolsuper: true }]);
});

/**
 * A cluster made by an older version, whose app role was initdb's superuser, is brought
 * to the new shape on `up`, keeping its data and handing its tables to the app role.
 */
test('up retires a cluster whose app role was its superuser, keeping the data', async () => {
  const base = stackSettings('test');
  const dataDir = join(base.dataDir, 'legacy-cluster');
  const s: StackSettings = {
    ...base,
    dataDir,
    logDir: join(dataDir, 'logs'),
    runDir: join(dataDir, 'run'),
    ports: { ...base.ports, postgres: await freePort() },
  };
  mkdirSync(s.runDir, { recursive: true });
  mkdirSync(s.logDir, { recursive: true });
  const dir = postgresDataDir(s);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const user = runAs();
  if (user) chownSync(dir, user.uid, user.gid);
  const as = { uid: user?.uid, gid: user?.gid, env: { PATH: process.env.PATH, LANG: 'C.UTF-8' } };
  // What older versions ran: initdb with the app role as its superuser; then a table of the app's.
  // Beside the cluster, as the stack keeps its own: the postgres user may not reach the checkout (a root-owned 0700 folder).
  const pwfile = join(dir, '..', `.legacy-${process.pid}.pw`);
  writeFileSync(pwfile, `${s.db.password}\n`, { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);
  const initdb = ['-D', dir, '-U', s.db.user, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--locale=C.UTF-8'];
  try {
    execFileSync(join(binDir(), 'initdb'), initdb, { ...as, stdio: 'ignore' });
  } finally {
    rmSync(pwfile, { force: true });
  }
  const single = (database: string, sql: string) =>
    execFileSync(join(binDir(), 'postgres'), ['--single', '-D', dir, database], { ...as, input: sql, stdio: 'pipe' });
  single('postgres', `CREATE DATABASE ${s.db.name};\n`);
  single(s.db.name, "CREATE TABLE kept (id serial PRIMARY KEY, v text);\nINSERT INTO kept (v) VALUES ('old');\n");
  try {
    await startPostgres(s);
    expect(await rows<RoleRow>(databaseUrl(s), roleSql)).toEqual([
      { rolsuper: false, rolcreaterole: false, owner: true, monitor: true },
    ]);
    expect(await rows(databaseUrl(s), 'SELECT v FROM kept')).toEqual([{ v: 'old' }]);
    // Owner of the table and its sequence: the migrations can alter it and insert into it.
    await rows(databaseUrl(s), "ALTER TABLE kept ADD COLUMN w text; INSERT INTO kept (v) VALUES ('new')");
    expect(
      await rows(adminDatabaseUrl(s), "SELECT rolname FROM pg_roles WHERE oid = 10 OR rolname LIKE '%upgrade%'"),
    ).toEqual([{ rolname: 'postgres' }]);
    // A second start finds nothing left to do.
    await stopProcess(s, 'postgres', { signal: 'SIGINT', graceMs: 20_000 });
    await startPostgres(s);
    expect(await rows(databaseUrl(s), 'SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 2 }]);
  } finally {
    await stopProcess(s, 'postgres', { signal: 'SIGINT', graceMs: 20_000 });
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
