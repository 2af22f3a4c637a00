import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitUntil } from './wait';

/** The API and the key CLI run from source, as processes, with the environment a test gives them. */
const root = join(__dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

export interface RunningProcess {
  child: ChildProcess;
  /** Everything it wrote, stdout and stderr. */
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function runSource(entry: string, args: string[], env: NodeJS.ProcessEnv): RunningProcess {
  const child = spawn(tsx, [join(root, entry), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  child.stderr!.on('data', (c: Buffer) => chunks.push(c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => Buffer.concat(chunks).toString('utf8'),
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs a CLI to its end; its output and exit code. */
export async function runToEnd(
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string; stdout: string }> {
  const p = runSource(entry, args, env);
  const out: Buffer[] = [];
  p.child.stdout!.on('data', (c: Buffer) => out.push(c));
  const code = await p.exited;
  return { code, output: p.output(), stdout: Buffer.concat(out).toString('utf8') };
}

/** Starts the API from source and waits for /healthz on its port. */
export async function startApi(port: number, env: NodeJS.ProcessEnv): Promise<RunningProcess> {
  const api = runSource('api/main.ts', [], { ...env, API_PORT: String(port) });
  await waitUntil(
    `the API on port ${port} to answer /healthz`,
    async () => {
      if (api.child.exitCode !== null) throw new Error(`the API exited: ${api.output()}`);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
      return res.ok;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
  return api;
}
