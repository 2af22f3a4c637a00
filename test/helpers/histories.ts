import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { loadConfig } from '../../lib/infra/config';
import { historiesDir, projectRoot } from './paths';

/**
 * With RECORD_HISTORIES=1, saves the workflow's history under test/histories/ as
 * `<workflow type>.<name>.json` (the Temporal CLI's JSON, which historyFromJSON reads);
 * test/replay replays every saved history against the current workflow code, so a
 * change that breaks determinism fails the tests.
 */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const { type, runId } = await handle.describe();
  const json = execFileSync(
    join(projectRoot, '.venv', 'bin', 'temporal'),
    [
      'workflow',
      'show',
      '--workflow-id',
      handle.workflowId,
      '--run-id',
      runId,
      '--address',
      loadConfig().temporal.address,
      '--output',
      'json',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  mkdirSync(historiesDir, { recursive: true });
  writeFileSync(join(historiesDir, `${type}.${name}.json`), json);
}
