import type { LogLevel, LogMetadata } from '@temporalio/common';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';

/**
 * The SDK's log lines in tests: WARN and above, minus the warnings known to say nothing
 * about the code under test. Each entry says why it is noise; anything else still shows.
 */
export const knownNoise: { pattern: RegExp; why: string }[] = [
  {
    pattern: /Temporal Server 1\.16\.0 or newer is required/,
    why: 'the time-skipping test server does not advertise the capability; no test reads the heartbeat details of a failed activity',
  },
  {
    pattern: /Workflow task duration exceeded/,
    why: 'a CBB sync runs its steps as local activities inside one workflow task; on a loaded test machine that task takes seconds',
  },
];

/** Activity failures the tests inject on purpose (a CBB answering 500 or 429) and assert on. */
const injectedTypes = new Set(['Upstream', 'Unavailable']);

function isInjectedFailure(message: string, meta?: LogMetadata): boolean {
  if (message !== 'Activity failed') return false;
  const err = meta?.error as { type?: string; name?: string } | undefined;
  return injectedTypes.has(err?.type ?? err?.name ?? '');
}

export function isKnownNoise(message: string, meta?: LogMetadata): boolean {
  return knownNoise.some((n) => n.pattern.test(message)) || isInjectedFailure(message, meta);
}

// Opaque or repeated on every line: left out so the line says what happened.
const dropped = new Set(['taskToken', 'namespace', 'sdkComponent']);

function write(entry: LogEntry): void {
  if (isKnownNoise(entry.message, entry.meta)) return;
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = Object.fromEntries(Object.entries(entry.meta ?? {}).filter(([k]) => !dropped.has(k)));
  const shown = JSON.stringify(meta, (_k, v) =>
    v instanceof Error ? `${v.name}: ${v.message}` : typeof v === 'bigint' ? String(v) : v,
  );
  process.stderr.write(`${at} [${entry.level}] ${entry.message}${shown === '{}' ? '' : ` ${shown}`}\n`);
}

/** A logger for the Runtime and for MockActivityEnvironment: real warnings print, known noise does not. */
export function testSdkLogger(level: LogLevel = 'WARN'): DefaultLogger {
  return new DefaultLogger(level, write);
}
