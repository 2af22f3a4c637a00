import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { stackSettings } from '../../scripts/stack/parts';
import { adminDatabaseUrl, adminRole } from '../../scripts/stack/postgres-roles';
import { createLogger } from '../../lib/infra/logger';
import { migrate } from '../../lib/infra/schema-migrations';

/**
 * docker-compose.yml's `postgres-roles` job, run with psql against the test cluster as
 * compose runs it: the role it makes is no superuser and still runs every migration.
 */
const s = stackSettings('test');
const database = `compose_roles_${process.pid}`;
const appUser = `compose_app_${process.pid}`;
const appPassword = 'compose-app-password';
const script = join(__dirname, '..', '..', 'deploy', 'compose', 'postgres-app-role.sql');

async function asAdmin(sql: string, db = 'postgres'): Promise<void> {
  const c = new Client({ connectionString: adminDatabaseUrl(s, db) });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function runScript(password = appPassword): void {
  const admin = new URL(adminDatabaseUrl(s));
  execFileSync('psql', ['-X', '-q', '-f', script], {
    env: {
      PATH: process.env.PATH,
      PGHOST: admin.hostname,
      PGPORT: admin.port,
      PGUSER: adminRole,
      PGPASSWORD: decodeURIComponent(admin.password),
      PGDATABASE: database,
      APP_DB_USER: appUser,
      APP_DB_PASSWORD: password,
    },
    stdio: 'pipe',
  });
}

const appUrl = (password = appPassword) =>
  `postgres://${appUser}:${password}@127.0.0.1:${s.ports.postgres}/${database}`;

beforeAll(() => asAdmin(`CREATE DATABASE ${database}`));

afterAll(async () => {
  await asAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await asAdmin(`DROP ROLE IF EXISTS ${appUser}`);
});

test('the role it makes is no superuser, and runs the migrations as owner of the schema', async () => {
  // A role made a superuser by hand before is brought back by the next run.
  await asAdmin(`CREATE ROLE ${appUser} LOGIN SUPERUSER CREATEDB`);
  // What an earlier version's application left when it ran as the superuser: a table of its own.
  await asAdmin(`CREATE TABLE legacy (id serial PRIMARY KEY)`, database);
  runScript();
  const c = new Client({ connectionString: appUrl() });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT rolsuper, rolcreatedb, rolcreaterole, pg_has_role(oid, 'pg_monitor', 'member') AS monitor
         FROM pg_roles WHERE rolname = current_user`,
    );
    expect(rows).toEqual([{ rolsuper: false, rolcreatedb: false, rolcreaterole: false, monitor: true }]);
    await expect(c.query(`CREATE DATABASE ${database}_x`)).rejects.toMatchObject({ code: '42501' });
    // Handed over, table and sequence: the role can migrate it and write to it.
    await c.query('ALTER TABLE legacy ADD COLUMN note text');
    await c.query("INSERT INTO legacy (note) VALUES ('kept')");
  } finally {
    await c.end();
  }
  const ran = await migrate(appUrl(), 'up', createLogger({ log: { level: 'silent', pretty: false } }, 'test'));
  expect(ran.length).toBeGreaterThan(0);
});

test('running it again only changes the password', async () => {
  runScript('rotated-password');
  await expect(new Client({ connectionString: appUrl() }).connect()).rejects.toMatchObject({ code: '28P01' });
  const c = new Client({ connectionString: appUrl('rotated-password') });
  await c.connect();
  await c.end();
});
