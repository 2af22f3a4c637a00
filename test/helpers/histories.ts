import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { loadConfig } from '../../lib/infra/config';
import { historiesDir, projectRoot } from './paths';

/**
 * With RECORD_HISTORIES=1, saves the workflow's history under test/histories/ as
 * `<workflow type>.<name>.json` (the Temporal CLI's JSON, which historyFromJSON reads);
 * test/replay replays every saved history against the current workflow code, so a
 * change that breaks determinism fails the tests. `runId` picks one run of a chain
 * (the default is the latest).
 */
export async function recordHistory(handle: WorkflowHandle, name: string, runId?: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const { type, runId: latest } = await handle.describe();
  const json = execFileSync(
    join(projectRoot, '.venv', 'bin', 'temporal'),
    [
      'workflow',
      'show',
      '--workflow-id',
      handle.workflowId,
      '--run-id',
      runId ?? latest,
      '--address',
      loadConfig().temporal.address,
      '--output',
      'json',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  mkdirSync(historiesDir, { recursive: true });
  const file = `${type}.${name}.json`;
  writeFileSync(join(historiesDir, file), json);
  // A history does not name its workflow id, and a workflow that derives ids from its own
  // (a partitioned run's children) replays only under the id it ran with.
  const ids = recordedWorkflowIds();
  ids[file] = handle.workflowId;
  writeFileSync(workflowIdsFile, `${JSON.stringify(ids, Object.keys(ids).sort(), 2)}\n`);
}

const workflowIdsFile = join(historiesDir, 'workflow-ids.json');

/** The workflow id each recorded history ran under, by file name. */
export function recordedWorkflowIds(): Record<string, string> {
  return existsSync(workflowIdsFile) ? JSON.parse(readFileSync(workflowIdsFile, 'utf8')) : {};
}

/**
 * Records every run of a chain that continued as new, as `<name>.run<i>`: the first
 * runs hold the continue-as-new step and the signals and updates sent before it,
 * which the latest run alone would not.
 */
export async function recordRunChain(
  client: Client,
  handle: WorkflowHandleWithFirstExecutionRunId,
  name: string,
): Promise<number> {
  let runId: string | undefined = handle.firstExecutionRunId;
  let i = 0;
  while (runId) {
    i++;
    const run: WorkflowHandle = client.workflow.getHandle(handle.workflowId, runId);
    await recordHistory(run, `${name}.run${i}`, runId);
    const history = await run.fetchHistory();
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return i;
}
