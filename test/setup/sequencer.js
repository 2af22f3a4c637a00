const Sequencer = require('@jest/test-sequencer').default;

/**
 * Seconds a file took in a full run on 2 cores (the slowest; the rest get their project's
 * typical figure below). Only the balance between shards depends on them: a stale figure
 * makes one shard finish later, never a test fail.
 */
const measured = {
  'e2e/chaos.test.ts': 105,
  'e2e/cbb-sync.test.ts': 120,
  'e2e/rollout-demo.test.ts': 84,
  'integration/rollout-crash.test.ts': 64,
  'e2e/docs.test.ts': 52,
  'integration/rollout-workflow.test.ts': 51,
  'e2e/api-fuzz.test.ts': 40,
  'workflows/cbb-sync.test.ts': 31,
  'e2e/vm-guest.test.ts': 28,
  'e2e/batch-migration.test.ts': 27,
  'integration/vm-gc.test.ts': 25,
  'integration/batch-migration-crash.test.ts': 25,
  'integration/rollout-abort.test.ts': 23,
  'e2e/api-pending-updates.test.ts': 21,
  'integration/rollout-inconclusive.test.ts': 18,
  'integration/cbb-retry-after.test.ts': 18,
  'integration/access-keys.test.ts': 17,
  'integration/batch-migration-failures.test.ts': 17,
  'e2e/api-outages.test.ts': 15,
  'e2e/alerts.test.ts': 14,
  'integration/hmm-remote-engine.test.ts': 13,
  'integration/batch-migration-controls.test.ts': 13,
  'e2e/metrics.test.ts': 13,
  'e2e/self-check.test.ts': 12,
  'workflows/rollout-analysis.test.ts': 12,
  'unit/hmm-cli.test.ts': 11,
  'integration/batch-migration.test.ts': 11,
  'integration/rollout-prometheus.test.ts': 11,
  'e2e/api-docs.test.ts': 10,
};
const typical = { unit: 1, workflows: 5, stack: 6 };

const relative = (path) => path.replace(/^.*\/test\//, '');
const isChaos = (t) => relative(t.path) === 'e2e/chaos.test.ts';
const weight = (t) => measured[relative(t.path)] ?? typical[t.context.config.displayName?.name] ?? 6;

/**
 * Jest's own order (failed first, then slowest first), except that the chaos run goes
 * last: it SIGKILLs its test stack's parts, and whatever it leaves behind must not fail
 * the files that would otherwise run after it.
 *
 * Shards (`--shard k/n`, one per test stack slot: scripts/test-shards.sh) are balanced by
 * the time their files take, the longest first onto the least loaded shard, rather than
 * by jest's hash of the path, which can put the three slowest files in one shard.
 */
class OrchestratorSequencer extends Sequencer {
  shard(tests, { shardIndex, shardCount }) {
    const load = Array.from({ length: shardCount }, () => 0);
    const owner = new Map();
    const byWeight = [...tests].sort((a, b) => weight(b) - weight(a) || a.path.localeCompare(b.path));
    for (const t of byWeight) {
      const k = load.indexOf(Math.min(...load));
      load[k] += weight(t);
      owner.set(t, k + 1);
    }
    return tests.filter((t) => owner.get(t) === shardIndex);
  }

  async sort(tests) {
    const sorted = await super.sort(tests);
    return [...sorted.filter((t) => !isChaos(t)), ...sorted.filter(isChaos)];
  }
}

module.exports = OrchestratorSequencer;
