import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDrift, MigrationDriftError, readMigrationFiles } from '../../lib/infra/schema-migrations';

describe('schema migration checksums', () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  writeFileSync(join(dir, '20260101000000000_a.sql'), '-- Up Migration\nCREATE TABLE a ();\n');
  writeFileSync(join(dir, '20260102000000000_b.sql'), '-- Up Migration\nCREATE TABLE b ();\n');
  const files = readMigrationFiles(dir);

  test('reads files in order with a checksum each', () => {
    expect(files.map((f) => f.name)).toEqual(['20260101000000000_a', '20260102000000000_b']);
    expect(files[0].checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  test('accepts unchanged applied migrations and ones applied before checksums were kept', () => {
    expect(() => checkDrift(files, new Map([['20260101000000000_a', { checksum: files[0].checksum }]]))).not.toThrow();
    expect(() => checkDrift(files, new Map([['20260101000000000_a', {}]]))).not.toThrow();
  });

  test('refuses a changed applied migration, naming it', () => {
    const applied = new Map([['20260101000000000_a', { checksum: 'f'.repeat(64) }]]);
    expect(() => checkDrift(files, applied)).toThrow(MigrationDriftError);
    expect(() => checkDrift(files, applied)).toThrow(/20260101000000000_a changed after it was applied/);
  });

  test('refuses when an applied migration file is gone', () => {
    expect(() => checkDrift(files, new Map([['20250101000000000_old', {}]]))).toThrow(
      /20250101000000000_old was applied but its file is gone/,
    );
  });
});
