import { cpSync, mkdtempSync, appendFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../../lib/infra/config';
import { createLogger } from '../../lib/infra/logger';
import { migrate, migrationStatus, migrationsDir } from '../../lib/infra/schema-migrations';

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

test('two migrators at once apply each migration once (advisory lock)', async () => {
  const url = await freshDatabase('migrate_race');
  const results = await Promise.allSettled([migrate(url, 'up', log), migrate(url, 'up', log)]);
  const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  expect(new Set(applied).size).toBe(applied.length);
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
