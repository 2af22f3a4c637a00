import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { recordedWorkflowIds } from '../helpers/histories';
import { historiesDir, testBundlePath } from '../helpers/paths';
import { quietRuntime } from '../helpers/time-skipping';

/** Every recorded history must replay on today's workflow code without nondeterminism. */
const workflowIds = recordedWorkflowIds();
const files = readdirSync(historiesDir).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json');

test('there are recorded histories to replay', () => {
  expect(files.length).toBeGreaterThan(0);
});

test.each(files)('%s replays deterministically', async (file) => {
  quietRuntime();
  const history = historyFromJSON(JSON.parse(readFileSync(join(historiesDir, file), 'utf8')));
  const results = Worker.runReplayHistories({ workflowBundle: { codePath: testBundlePath } }, [
    { workflowId: workflowIds[file] ?? file.replace(/\.json$/, ''), history },
  ]);
  const replayed = [];
  for await (const result of results) replayed.push(result);
  expect(replayed).toHaveLength(1);
  expect(replayed[0].error).toBeUndefined();
});
