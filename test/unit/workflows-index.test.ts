import { accessUsageFlushWorkflowType } from '../../lib/access/contract';
import { batchMigrationWorkflowType } from '../../lib/batch-migration/contract';
import { cbbSweepWorkflowType, cbbSyncWorkflowType } from '../../lib/cbb/contract';
import { hmmAnalysisWorkflowType, hmmRefitWorkflowType } from '../../lib/hmm/contract';
import { rolloutWorkflowType } from '../../lib/rollout/contract';
import { selfCheckWorkflowType } from '../../lib/self-check/contract';
import { vmReconcileWorkflowType, vmWorkflowType } from '../../lib/vm/contract';
import * as workflows from '../../workflows';
import * as hmmWorker from '../../workflows/hmm-worker';
import * as orchestratorWorker from '../../workflows/orchestrator-worker';

/**
 * The worker registers every export of workflows/index.ts as a workflow type that
 * anyone may start: it must hold the workflow functions the contracts name, and
 * nothing else (no helper, query or signal definition).
 */
test('workflows/index.ts exports exactly the workflow types the contracts name', () => {
  const contractTypes = [
    batchMigrationWorkflowType,
    cbbSweepWorkflowType,
    cbbSyncWorkflowType,
    selfCheckWorkflowType,
    hmmAnalysisWorkflowType,
    hmmRefitWorkflowType,
    vmWorkflowType,
    vmReconcileWorkflowType,
    accessUsageFlushWorkflowType,
    rolloutWorkflowType,
  ];
  expect(Object.keys(workflows).sort()).toEqual([...contractTypes].sort());
});

test.each(Object.entries(workflows))('%s is an async workflow function under its own name', (name, fn) => {
  expect(typeof fn).toBe('function');
  expect((fn as (...args: unknown[]) => unknown).name).toBe(name);
  expect(fn.constructor.name).toBe('AsyncFunction');
});

test('each worker registers only its own processes: the hmm worker the analyses, the orchestrator worker the rest', () => {
  expect(Object.keys(hmmWorker).sort()).toEqual([hmmAnalysisWorkflowType, hmmRefitWorkflowType].sort());
  const orchestrator = Object.keys(orchestratorWorker);
  expect(orchestrator).not.toContain(hmmAnalysisWorkflowType);
  expect([...orchestrator, ...Object.keys(hmmWorker)].sort()).toEqual(Object.keys(workflows).sort());
});
