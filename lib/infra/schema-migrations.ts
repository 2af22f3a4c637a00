import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from './logger';

/**
 * Schema migrations run by node-pg-migrate (each in its own transaction, under its
 * advisory lock). On top of it we keep a checksum of every applied file and refuse
 * to run when one has changed since it was applied: editing an applied migration
 * silently forks the schema between environments.
 */

export const migrationsTable = 'pgmigrations';
const checksumTable = 'schema_migration_checksums';

/** node-pg-migrate's advisory lock id: holding it keeps its runner, and any other migrator, out. */
export const migrateLockId = '7241865325823964';

export interface MigrationFile {
  name: string;
  checksum: string;
}

export interface MigrationState extends MigrationFile {
  appliedAt?: Date;
}

export class MigrationDriftError extends Error {
  override name = 'MigrationDriftError';
}

export function migrationsDir(): string {
  // Compiled code lives in dist/lib, sources in lib: find the folder from either.
  for (const candidate of [join(__dirname, '..', 'migrations'), join(__dirname, '..', '..', 'migrations')]) {
    try {
      readdirSync(candidate);
      return candidate;
    } catch {
      /* try the next */
    }
  }
  throw new Error(`migrations folder not found next to ${__dirname}`);
}

export function readMigrationFiles(dir = migrationsDir()): MigrationFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => ({
      name: f.replace(/\.sql$/, ''),
      checksum: createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex'),
    }));
}

async function withClient<T>(databaseUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'migrate' });
  // A server lost mid-migration fails the statement in flight; without a listener its 'error' would kill the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function appliedMigrations(client: Client): Promise<Map<string, { runOn: Date; checksum?: string }>> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${checksumTable} (name text PRIMARY KEY, checksum text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`,
  );
  const exists = await client.query(`SELECT to_regclass($1) AS t`, [migrationsTable]);
  if (!exists.rows[0].t) return new Map();
  const { rows } = await client.query<{ name: string; run_on: Date; checksum: string | null }>(
    `SELECT m.name, m.run_on, c.checksum FROM ${migrationsTable} m LEFT JOIN ${checksumTable} c USING (name) ORDER BY m.run_on, m.id`,
  );
  return new Map(rows.map((r) => [r.name, { runOn: r.run_on, checksum: r.checksum ?? undefined }]));
}

/** Throws when an applied migration's file changed or vanished. */
export function checkDrift(files: MigrationFile[], applied: Map<string, { checksum?: string }>): void {
  const byName = new Map(files.map((f) => [f.name, f.checksum]));
  const problems: string[] = [];
  for (const [name, { checksum }] of applied) {
    const current = byName.get(name);
    if (current === undefined) problems.push(`${name} was applied but its file is gone`);
    else if (checksum && checksum !== current)
      problems.push(`${name} changed after it was applied (write a new migration instead)`);
  }
  if (problems.length) throw new MigrationDriftError(`refusing to migrate:\n  ${problems.join('\n  ')}`);
}

async function recordChecksums(client: Client, files: MigrationFile[]): Promise<void> {
  const applied = await appliedMigrations(client);
  for (const f of files) {
    if (applied.has(f.name)) {
      await client.query(
        `INSERT INTO ${checksumTable} (name, checksum) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
        [f.name, f.checksum],
      );
    }
  }
  await client.query(
    `DELETE FROM ${checksumTable} c WHERE NOT EXISTS (SELECT 1 FROM ${migrationsTable} m WHERE m.name = c.name)`,
  );
}

export async function migrate(
  databaseUrl: string,
  direction: 'up' | 'down',
  log: Logger,
  options: { count?: number; dir?: string } = {},
): Promise<string[]> {
  const dir = options.dir ?? migrationsDir();
  const files = readMigrationFiles(dir);
  return withClient(databaseUrl, async (client) => {
    // The whole run holds node-pg-migrate's lock, not only its own part: two migrators on a fresh
    // database would otherwise both create the bookkeeping tables and one would fail on that, not
    // on the lock. Advisory locks nest within a session, so the runner's own take succeeds.
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
      migrateLockId,
    ]);
    if (!rows[0].locked) throw new Error('Another migration is already running');
    try {
      return await migrateLocked(client, files, dir, direction, log, options);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [migrateLockId]).catch(() => undefined);
    }
  });
}

async function migrateLocked(
  client: Client,
  files: MigrationFile[],
  dir: string,
  direction: 'up' | 'down',
  log: Logger,
  options: { count?: number },
): Promise<string[]> {
  {
    checkDrift(files, await appliedMigrations(client));
    const ran = await runner({
      dbClient: client,
      dir,
      direction,
      count: options.count ?? (direction === 'down' ? 1 : Infinity),
      migrationsTable,
      checkOrder: true,
      singleTransaction: false,
      noLock: false,
      logger: {
        debug: () => undefined,
        info: (m: string) => log.debug(m),
        warn: (m: string) => log.warn(m),
        error: (m: string) => log.error(m),
      },
    } as Parameters<typeof runner>[0]);
    await recordChecksums(client, files);
    return ran.map((m) => m.name);
  }
}

export async function migrationStatus(databaseUrl: string, dir = migrationsDir()): Promise<MigrationState[]> {
  const files = readMigrationFiles(dir);
  return withClient(databaseUrl, async (client) => {
    const applied = await appliedMigrations(client);
    return files.map((f) => ({ ...f, appliedAt: applied.get(f.name)?.runOn }));
  });
}
