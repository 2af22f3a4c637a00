import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './settings';

/**
 * The real Temporal server, its SQL schema tool and the Web UI server, built from their
 * Go modules into `.tools/` on demand (`npm run temporal:server -- build`, about five
 * minutes the first time). The versions are docker-compose.yml's images, so the local
 * stack and compose run the same server (test/unit/compose.test.ts holds them equal).
 */
export const temporalServerVersion = '1.29.1';
export const temporalUiVersion = '2.34.0';

export interface TemporalTools {
  dir: string;
  server: string;
  sqlTool: string;
  /** postgresql/v12 of the server module: `temporal/versioned` and `visibility/versioned`. */
  schemaDir: string;
  uiServer: string;
}

export function temporalTools(root = projectRoot): TemporalTools {
  const dir = join(root, '.tools', `temporal-server-${temporalServerVersion}`);
  return {
    dir,
    server: join(dir, 'server'),
    sqlTool: join(dir, 'temporal-sql-tool'),
    schemaDir: join(dir, 'schema', 'postgresql', 'v12'),
    uiServer: join(root, '.tools', `temporal-ui-${temporalUiVersion}`, 'ui-server'),
  };
}

export function missingTools(t: TemporalTools = temporalTools()): string[] {
  return [t.server, t.sqlTool, join(t.schemaDir, 'temporal', 'versioned'), t.uiServer].filter((p) => !existsSync(p));
}

const goModule = (path: string, version: string) => `${path}@v${version}`;

function go(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  try {
    return execFileSync('go', args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    }).toString();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('the Go toolchain is not installed (`go` is not on PATH): install Go 1.24 or newer first');
    throw err;
  }
}

/** Where the module proxy put a module's source: its schema files and the UI's embedded assets live there. */
function moduleDir(path: string, version: string): string {
  const { Dir } = JSON.parse(go(['mod', 'download', '-json', goModule(path, version)])) as { Dir?: string };
  if (!Dir) throw new Error(`go mod download gave no folder for ${goModule(path, version)}`);
  return Dir;
}

/**
 * Builds what is missing; `force` builds all again. The UI server's module has
 * `replace` directives, which `go install mod@version` refuses: it is built inside a
 * writable copy of its module instead.
 */
export function buildTemporalTools(opts: { force?: boolean; say: (msg: string) => void }): TemporalTools {
  const t = temporalTools();
  mkdirSync(t.dir, { recursive: true });
  const serverModule = 'go.temporal.io/server';
  if (opts.force || !existsSync(t.server)) {
    opts.say(`building the Temporal server ${temporalServerVersion} (go install; about 5 minutes the first time)`);
    go(['install', goModule(`${serverModule}/cmd/server`, temporalServerVersion)], { env: { GOBIN: t.dir } });
  }
  if (opts.force || !existsSync(t.sqlTool)) {
    opts.say('building its SQL schema tool');
    const bin = join(t.dir, '.bin');
    go(['install', goModule(`${serverModule}/cmd/tools/sql`, temporalServerVersion)], { env: { GOBIN: bin } });
    cpSync(join(bin, 'sql'), t.sqlTool);
    rmSync(bin, { recursive: true, force: true });
  }
  if (opts.force || !existsSync(join(t.schemaDir, 'temporal', 'versioned'))) {
    opts.say('copying its Postgres schema');
    rmSync(join(t.dir, 'schema'), { recursive: true, force: true });
    cpSync(join(moduleDir(serverModule, temporalServerVersion), 'schema', 'postgresql', 'v12'), t.schemaDir, {
      recursive: true,
    });
    chmodSync(t.schemaDir, 0o755);
  }
  if (opts.force || !existsSync(t.uiServer)) {
    opts.say(`building the Temporal Web UI server ${temporalUiVersion}`);
    const src = join(t.dir, '.ui-src');
    rmSync(src, { recursive: true, force: true });
    cpSync(moduleDir('github.com/temporalio/ui-server/v2', temporalUiVersion), src, { recursive: true });
    execFileSync('chmod', ['-R', 'u+w', src]);
    mkdirSync(join(t.uiServer, '..'), { recursive: true });
    go(['build', '-o', t.uiServer, './cmd/server'], { cwd: src });
    rmSync(src, { recursive: true, force: true });
  }
  return t;
}
