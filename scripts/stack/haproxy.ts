import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, runningPid, spawnDetached, stopProcess, waitFor } from './proc';
import type { StackSettings } from './settings';

/**
 * HAProxy (the Debian package) in front of a stable and a canary server, for the canary
 * demo and tests: backend `app`, stable at weight 100 and canary at 0, an admin-level
 * runtime API socket that the HAProxy traffic controller sets weights on.
 */

export interface HaproxyOptions {
  name?: string;
  dir: string;
  frontendPort: number;
  stablePort: number;
  canaryPort: number;
}

/** Where the worker finds the stack's HAProxy socket (HAPROXY_SOCKET), whoever starts HAProxy. */
export const haproxySocketPath = (s: StackSettings) => join(s.dataDir, 'haproxy', 'admin.sock');

export async function startHaproxy(
  s: StackSettings,
  opts: HaproxyOptions,
): Promise<{ socketPath: string; url: string; stop: () => Promise<void> }> {
  const name = opts.name ?? 'haproxy';
  mkdirSync(opts.dir, { recursive: true });
  await stopProcess(s, name, { graceMs: 5000 }); // one left by an interrupted run
  const socketPath = join(opts.dir, 'admin.sock');
  rmSync(socketPath, { force: true });
  const config = join(opts.dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      `  stats socket ${socketPath} mode 600 level admin`,
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 10s',
      '  timeout server 10s',
      'frontend web',
      `  bind 127.0.0.1:${opts.frontendPort}`,
      '  default_backend app',
      'backend app',
      '  balance roundrobin',
      `  server stable 127.0.0.1:${opts.stablePort} weight 100`,
      `  server canary 127.0.0.1:${opts.canaryPort} weight 0`,
      '',
    ].join('\n'),
  );
  spawnDetached(s, { name, command: 'haproxy', args: ['-db', '-f', config] });
  const url = `http://127.0.0.1:${opts.frontendPort}`;
  await waitFor(
    name,
    async () => {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
      await res.text();
      return res.status < 500;
    },
    { timeoutMs: 60_000, pid: () => runningPid(s, name), log: logFile(s, name) },
  );
  return { socketPath, url, stop: async () => void (await stopProcess(s, name, { graceMs: 10_000 })) };
}
