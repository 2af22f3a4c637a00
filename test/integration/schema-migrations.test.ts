import { cpSync, mkdtempSync, appendFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../../lib/infra/config';
import { createLogger } from '../../lib/infra/logger';
import { migrate, migrationStatus, migrationsDir, readMigrationFiles } from '../../lib/infra/schema-migrations';

/** Runs the project's real schema migrations on a scratch database of the test Postgres. */
const config = loadConfig();
const log = createLogger({ log: { level: 'silent', pretty: false } }, 'test');
const scratchUrl = (name: string) => config.database.url.replace(/\/[^/]+$/, `/${name}`);

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: config.database.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function freshDatabase(name: string): Promise<string> {
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name}`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  return scratchUrl(name);
}

async function tables(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    return rows.map((r) => r.tablename);
  } finally {
    await c.end();
  }
}

const all = readdirSync(migrationsDir()).filter((f) => f.endsWith('.sql')).length;

test('every migration goes up, comes down, and goes up again', async () => {
  const url = await freshDatabase('migrate_cycle');
  expect(await migrate(url, 'up', log)).toHaveLength(all);
  expect((await migrationStatus(url)).every((m) => m.appliedAt)).toBe(true);
  expect(await tables(url)).toContain('self_check_steps');

  expect(await migrate(url, 'down', log, { count: all })).toHaveLength(all);
  expect((await tables(url)).filter((t) => !['pgmigrations', 'schema_migration_checksums'].includes(t))).toEqual([]);
  expect(await migrate(url, 'up', log)).toHaveLength(all);
  expect(await migrate(url, 'up', log)).toEqual([]);
});

// node-pg-migrate's advisory lock key (PG_MIGRATE_LOCK_ID in its runner): taken with pg_try_advisory_lock.
const migrateLockId = '7241865325823964';

test('while another session holds the migration lock, a migrator refuses and applies nothing; once released it applies all', async () => {
  const url = await freshDatabase('migrate_locked');
  const holder = new Client({ connectionString: url });
  await holder.connect();
  try {
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [migrateLockId]);
    await expect(migrate(url, 'up', log)).rejects.toThrow(/Another migration is already running/);
    expect((await migrationStatus(url)).filter((m) => m.appliedAt)).toEqual([]);
    expect(await tables(url)).not.toContain('self_check_steps');
    await holder.query('SELECT pg_advisory_unlock($1::bigint)', [migrateLockId]);
  } finally {
    await holder.end();
  }
  expect(await migrate(url, 'up', log)).toHaveLength(all);
});

test('two migrators at once: together they apply each migration exactly once, and any loser was refused by the lock', async () => {
  const url = await freshDatabase('migrate_race');
  const results = await Promise.allSettled([migrate(url, 'up', log), migrate(url, 'up', log)]);
  const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  // Without the lock both would apply the first migration: one would fail on a table that exists, not on the lock.
  for (const r of results) {
    if (r.status === 'rejected') expect(String(r.reason)).toMatch(/Another migration is already running/);
  }
  expect([...applied].sort()).toEqual(readMigrationFiles().map((f) => f.name));
  expect((await migrationStatus(url)).every((m) => m.appliedAt)).toBe(true);
});

test('a changed applied migration stops the next run and changes nothing', async () => {
  const url = await freshDatabase('migrate_drift');
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  cpSync(migrationsDir(), dir, { recursive: true });
  await migrate(url, 'up', log, { dir });
  const first = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()[0];
  appendFileSync(join(dir, first), '\n-- an edit after the fact\n');
  await expect(migrate(url, 'up', log, { dir })).rejects.toThrow(/changed after it was applied/);
  await expect(migrate(url, 'down', log, { dir })).rejects.toThrow(/changed after it was applied/);
  expect((await migrationStatus(url)).every((m) => m.appliedAt)).toBe(true);
});
