const Sequencer = require('@jest/test-sequencer').default;

/**
 * Jest's own order (failed first, then slowest first), except that the chaos run goes
 * last: it SIGKILLs the shared test stack's parts, and whatever it leaves behind must not
 * fail the files that would otherwise run after it.
 */
class ChaosLast extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    const chaos = (t) => t.path.endsWith('/test/e2e/chaos.test.ts');
    return [...sorted.filter((t) => !chaos(t)), ...sorted.filter(chaos)];
  }
}

module.exports = ChaosLast;
