import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { projectRoot, type StackSettings } from './settings';

/**
 * Who is who in the stack's cluster. The cluster's superuser is `postgres`, with a
 * random password kept in a file only the stack's owner can read; the project's
 * processes connect as `s.db.user`, which owns its database but is no superuser (it may
 * create databases, which the tests' scratch databases need, and reads the server's
 * activity through pg_monitor for the batch migration's throttle). A superuser could
 * run programs as the server's OS user (COPY ... PROGRAM) and read any file it can.
 */
export const adminRole = 'postgres';

/** Bootstrap superuser's oid: the role initdb creates, which owns the system catalogs. */
const bootstrapOid = 10;

export const adminPasswordFile = (s: StackSettings) => join(s.dataDir, 'postgres-admin.password');

/** A new admin password, written before any role is given it so that a crash cannot lock the stack out. */
export function newAdminPassword(s: StackSettings): string {
  const password = randomBytes(24).toString('base64url');
  writeFileSync(adminPasswordFile(s), `${password}\n`, { mode: 0o600 });
  return password;
}

function adminPassword(s: StackSettings): string | undefined {
  const file = adminPasswordFile(s);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** Shared with docker-compose.yml's roles job, which meets the same legacy on an older volume. */
const handOverSql = () => readFileSync(join(projectRoot, 'deploy', 'compose', 'postgres-hand-over.sql'), 'utf8');

const url = (s: StackSettings, user: string, password: string, database: string) =>
  `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${s.ports.postgres}/${database}`;

/** The superuser's URL, for the stack's own setup only: never given to the project's processes. */
export function adminDatabaseUrl(s: StackSettings, database = 'postgres'): string {
  const password = adminPassword(s);
  if (!password) throw new Error(`no Postgres admin password at ${adminPasswordFile(s)}: run the stack's up first`);
  return url(s, adminRole, password, database);
}

/** One client for `fn`; a server lost meanwhile fails `fn`'s query, and its 'error' event must not kill the process. */
export async function withClient<T>(connectionString: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const canConnect = (connectionString: string) => withClient(connectionString, async () => true).catch(() => false);

/**
 * Makes the app role a non-superuser owner of its database, and brings a cluster of
 * an older version (whose app role was initdb's superuser) to the same shape.
 */
export async function ensureRoles(s: StackSettings): Promise<void> {
  const password = adminPassword(s);
  if (!password || !(await canConnect(url(s, adminRole, password, 'postgres')))) await retireBootstrapAppRole(s);
  await withClient(adminDatabaseUrl(s), async (c) => {
    const role = c.escapeIdentifier(s.db.user);
    const { rows } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [s.db.user]);
    if (rows.length === 0) await c.query(`CREATE ROLE ${role} LOGIN`);
    // A role made a superuser by hand (or by an older version) is brought back here on every `up`.
    await c.query(
      `ALTER ROLE ${role} LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${c.escapeLiteral(s.db.password)}`,
    );
    await c.query(`GRANT pg_monitor TO ${role}`);
    const db = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [s.db.name]);
    const name = c.escapeIdentifier(s.db.name);
    if (db.rows.length === 0) await c.query(`CREATE DATABASE ${name} OWNER ${role}`);
    else await c.query(`ALTER DATABASE ${name} OWNER TO ${role}`);
  });
}

/**
 * Older versions ran initdb with the app role as its superuser. Postgres will not take
 * superuser from that role (16 and later refuse; before, it would still own the system
 * catalogs), so it is renamed to `postgres` and the app role is made anew, owning what
 * the old one owned in the project's databases. A stand-in superuser does the renaming,
 * since no session can rename its own role.
 */
async function retireBootstrapAppRole(s: StackSettings): Promise<void> {
  const appUrl = url(s, s.db.user, s.db.password, 'postgres');
  const { bootstrap, adminExists } = await withClient(appUrl, async (c) => {
    const { rows } = await c.query<{ bootstrap: boolean; admin: boolean }>(
      `SELECT oid = ${bootstrapOid} AS bootstrap, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2) AS admin
         FROM pg_roles WHERE rolname = $1`,
      [s.db.user, adminRole],
    );
    return { bootstrap: rows[0]?.bootstrap === true, adminExists: rows[0]?.admin === true };
  }).catch((err: Error) => {
    throw new Error(
      `cannot reach Postgres as ${adminRole} (password in ${adminPasswordFile(s)}) nor as ${s.db.user}: ${err.message}`,
    );
  });
  if (!bootstrap || adminExists)
    throw new Error(
      `Postgres refuses the admin password in ${adminPasswordFile(s)}; restore it or reset the stack's data`,
    );
  const stand = 'orchestrator_stack_upgrade';
  const standPassword = randomBytes(24).toString('base64url');
  await withClient(appUrl, (c) =>
    c.query(`CREATE ROLE ${stand} LOGIN SUPERUSER PASSWORD ${c.escapeLiteral(standPassword)}`),
  );
  const adminPw = newAdminPassword(s);
  const standUrl = (database: string) => url(s, stand, standPassword, database);
  const databases = await withClient(standUrl('postgres'), async (c) => {
    await c.query(`ALTER ROLE ${c.escapeIdentifier(s.db.user)} RENAME TO ${adminRole}`);
    await c.query(`ALTER ROLE ${adminRole} PASSWORD ${c.escapeLiteral(adminPw)}`);
    await c.query(`CREATE ROLE ${c.escapeIdentifier(s.db.user)} LOGIN NOSUPERUSER CREATEDB NOCREATEROLE`);
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datdba = ${bootstrapOid} AND datallowconn
          AND datname NOT IN ('postgres', 'template0', 'template1')`,
    );
    return rows.map((r) => r.datname);
  });
  for (const database of databases) {
    await withClient(standUrl('postgres'), (c) =>
      c.query(`ALTER DATABASE ${c.escapeIdentifier(database)} OWNER TO ${c.escapeIdentifier(s.db.user)}`),
    );
    await withClient(standUrl(database), async (c) => {
      await c.query("SELECT set_config('orchestrator.app_role', $1, false)", [s.db.user]);
      await c.query(handOverSql());
    });
  }
  await withClient(url(s, adminRole, adminPw, 'postgres'), (c) => c.query(`DROP ROLE ${stand}`));
}
