/**
 * The unit tests that cover the pure domain modules `npm run test:mutation` mutates
 * (stryker.config.json). Left out: tests that shell out (the HMM command line, the
 * hmmlearn parity run), where each mutant would start Python again, and the whole-fit
 * tests of hmm-fit.test.ts, seconds each once instrumented and run for every HMM mutant;
 * hmm-baum-welch.test.ts checks EM, and hmm-forward-paths.test.ts the E-step, exactly on small inputs instead.
 */
const base = require('./jest.config.js').projects.find((p) => p.displayName === 'unit');

module.exports = {
  ...base,
  displayName: 'mutation',
  rootDir: __dirname,
  testMatch: [
    '<rootDir>/test/unit/batch-migration-batching.test.ts',
    '<rootDir>/test/unit/cbb-fields.test.ts',
    '<rootDir>/test/unit/cbb-phone.test.ts',
    '<rootDir>/test/unit/rollout-judge.test.ts',
    '<rootDir>/test/unit/rollout-judge-edges.test.ts',
    '<rootDir>/test/unit/rollout-mann-whitney.test.ts',
    '<rootDir>/test/unit/hmm-forward.test.ts',
    '<rootDir>/test/unit/hmm-forward-paths.test.ts',
    '<rootDir>/test/unit/hmm-baum-welch.test.ts',
    '<rootDir>/test/unit/hmm-validation.test.ts',
  ],
};
