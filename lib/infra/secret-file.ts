import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Files that hold a key, a password or a token: readable by their owner only (0600), in
 * a folder of 0700 when it is this function that makes the folder. A file that already
 * exists is narrowed too, since `mode` on open applies only to a file it creates.
 */
export function writeSecretFile(path: string, text: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'w', 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600);
}

/** A random secret kept in a file, made on first use: stable across restarts of what reads it. */
export function storedSecret(path: string): string {
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    const text = readFileSync(path, 'utf8').trim();
    if (text.length >= 32) return text;
  }
  const secret = randomBytes(32).toString('base64url');
  writeSecretFile(path, `${secret}\n`);
  return secret;
}
