import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storedSecret, writeSecretFile } from '../../lib/infra/secret-file';

/** Key and secret files are their owner's alone, whether new or written over an old, wider one. */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'secret-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

test('a new file is 0600, in a folder of 0700 when it makes the folder', () => {
  const path = join(dir, 'keys', 'admin.key');
  writeSecretFile(path, 'ak_000000000000.secret\n');
  expect(mode(path)).toBe(0o600);
  expect(mode(join(dir, 'keys'))).toBe(0o700);
  expect(readFileSync(path, 'utf8')).toBe('ak_000000000000.secret\n');
});

test('a file that was 0644 is narrowed to 0600 when written over', () => {
  const path = join(dir, 'admin.key');
  writeFileSync(path, 'old\n', { mode: 0o644 });
  writeSecretFile(path, 'new\n');
  expect(mode(path)).toBe(0o600);
});

test('a stored secret is made once, kept across reads, and narrowed to 0600', () => {
  const path = join(dir, 'secrets', 'cache');
  const first = storedSecret(path);
  expect(first.length).toBeGreaterThanOrEqual(32);
  writeFileSync(path, `${first}\n`, { mode: 0o644 });
  expect(storedSecret(path)).toBe(first);
  expect(mode(path)).toBe(0o600);
});
