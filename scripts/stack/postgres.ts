import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { adminRole, ensureRoles, newAdminPassword } from './postgres-roles';
import { isAlive, runningPid, spawnDetached, logFile, untilReaped, waitFor } from './proc';
import type { StackSettings } from './settings';

/**
 * A throwaway Postgres cluster of the project's own. Postgres refuses to run as
 * root, so as root it runs as the `postgres` user; its data folder is under the
 * project's data folder unless that user cannot reach it (a checkout in a private
 * home or temp folder), in which case it lives in that user's home, named after
 * the data folder it belongs to.
 */

export function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => +b - +a)
    : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'postgres'))) return join(base, v, 'bin');
  throw new Error('Postgres is not installed: run scripts/bootstrap.sh (Debian package postgresql)');
}

interface RunAs {
  uid: number;
  gid: number;
  home: string;
}

export function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid, home] = execFileSync('sh', [
    '-c',
    'id -u postgres; id -g postgres; getent passwd postgres | cut -d: -f6',
  ])
    .toString()
    .trim()
    .split('\n');
  return { uid: Number(uid), gid: Number(gid), home: home || '/var/lib/postgresql' };
}

function canReach(dir: string): boolean {
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', 'test', '-x', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** How the project's processes reach the cluster. */
export const databaseUrl = (s: StackSettings) =>
  `postgres://${s.db.user}:${s.db.password}@127.0.0.1:${s.ports.postgres}/${s.db.name}`;

export function postgresDataDir(s: StackSettings): string {
  const user = runAs();
  mkdirSync(s.dataDir, { recursive: true });
  if (!user || canReach(s.dataDir)) return join(s.dataDir, 'postgres');
  const tag = createHash('sha256').update(s.dataDir).digest('hex').slice(0, 12);
  return join(user.home, `orchestrator-${s.profile}-${tag}`);
}

export async function startPostgres(s: StackSettings, opts: { fresh?: boolean } = {}): Promise<void> {
  const bin = binDir();
  const user = runAs();
  const dir = postgresDataDir(s);
  if (opts.fresh) rmSync(dir, { recursive: true, force: true });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pwfile = join(dir, '..', `.pg-${process.pid}.pw`);
    writeFileSync(pwfile, `${newAdminPassword(s)}\n`, { mode: 0o600 });
    if (user) {
      chownSync(dir, user.uid, user.gid);
      chownSync(pwfile, user.uid, user.gid);
    }
    try {
      execFileSync(
        join(bin, 'initdb'),
        [
          '-D',
          dir,
          '-U',
          adminRole,
          '--auth=scram-sha-256',
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--locale=C.UTF-8',
        ],
        { uid: user?.uid, gid: user?.gid, stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
  }
  if (runningPid(s, 'postgres') === undefined) {
    // A postmaster killed a moment ago may not be reaped yet: its lock file would stop this start.
    const lockFile = join(dir, 'postmaster.pid');
    const lastOwner = existsSync(lockFile) ? Number(readFileSync(lockFile, 'utf8').split('\n')[0]) : 0;
    if (lastOwner > 0 && !isAlive(lastOwner)) await untilReaped(lastOwner);
    const settings = [
      'listen_addresses=127.0.0.1',
      'unix_socket_directories=',
      'max_connections=300',
      'shared_buffers=256MB',
      // The test stack is thrown away after each run: it skips the fsyncs, which only an
      // OS crash needs. Commits still reach the kernel before they are acknowledged
      // (synchronous_commit stays on): the chaos test SIGKILLs Postgres, and with it off
      // an acknowledged commit was lost with the process (a migration's last state).
      ...(s.profile === 'test' ? ['fsync=off', 'full_page_writes=off'] : []),
    ];
    spawnDetached(s, {
      name: 'postgres',
      command: join(bin, 'postgres'),
      args: ['-D', dir, '-p', String(s.ports.postgres), ...settings.flatMap((x) => ['-c', x])],
      uid: user?.uid,
      gid: user?.gid,
      env: { PATH: process.env.PATH, LANG: 'C.UTF-8' },
    });
  }
  // Up once it answers at all: a refused password means the server is accepting connections.
  const answers = () =>
    query(databaseUrl(s).replace(/\/[^/]+$/, '/postgres'), 'SELECT 1').then(
      () => true,
      (err: { code?: string }) => err.code === '28P01' || err.code === '28000',
    );
  await waitFor('postgres', answers, { pid: () => runningPid(s, 'postgres'), log: logFile(s, 'postgres') });
  await ensureRoles(s);
}

export async function postgresReady(s: StackSettings): Promise<boolean> {
  return query(databaseUrl(s), 'SELECT 1').then(
    () => true,
    () => false,
  );
}

async function query(url: string, sql: string, params: unknown[] = []): Promise<unknown[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  // A server that dies mid-query fails the query; the client's own 'error' must not kill the caller.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}
