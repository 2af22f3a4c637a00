import type { Logger } from '../lib/infra/logger';

/**
 * What /readyz answers: each dependency's last check, at most `maxAgeMs` old. One round
 * of checks runs at a time and every caller in the meantime shares it, so a flood of
 * probes costs each dependency one check a second at most. The answer says only ok or
 * down with a fixed phrase; what the dependency said goes to the log, once per change.
 */
export type DownReason = 'unreachable' | 'timed out';
export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: DownReason;
}

class TimedOut extends Error {}

async function check(fn: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult & { cause?: string }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new TimedOut(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    const error: DownReason = err instanceof TimedOut ? 'timed out' : 'unreachable';
    return { ok: false, ms: Date.now() - started, error, cause: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export function createReadiness<Name extends string>(
  checks: Record<Name, () => Promise<unknown>>,
  log: Logger,
  opts: { maxAgeMs?: number; timeoutMs?: number } = {},
): () => Promise<Record<Name, CheckResult>> {
  const maxAgeMs = opts.maxAgeMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const names = Object.keys(checks) as Name[];
  let last: { startedAt: number; results: Record<Name, CheckResult> } | undefined;
  let running: Promise<Record<Name, CheckResult>> | undefined;
  const wasOk = new Map<Name, boolean>();

  const round = async (): Promise<Record<Name, CheckResult>> => {
    const startedAt = Date.now();
    const done = await Promise.all(names.map((name) => check(checks[name], timeoutMs)));
    const results = {} as Record<Name, CheckResult>;
    names.forEach((name, i) => {
      const { cause, ...result } = done[i];
      results[name] = result;
      if (wasOk.get(name) !== result.ok) {
        if (result.ok) log.info({ dependency: name }, 'readiness: dependency is up');
        else log.warn({ dependency: name, reason: result.error, err: cause }, 'readiness: dependency is down');
      }
      wasOk.set(name, result.ok);
    });
    last = { startedAt, results };
    return results;
  };

  return () => {
    if (last && Date.now() - last.startedAt < maxAgeMs) return Promise.resolve(last.results);
    running ??= round().finally(() => (running = undefined));
    return running;
  };
}
