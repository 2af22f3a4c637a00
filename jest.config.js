/** Three groups: pure unit tests, workflow tests on the time-skipping server, and tests against the real stack. */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] };
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'workflows',
      testMatch: ['<rootDir>/test/workflows/**/*.test.ts', '<rootDir>/test/replay/**/*.test.ts'],
      globalSetup: '<rootDir>/test/setup/bundle.ts',
    },
    {
      ...common,
      displayName: 'stack',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/setup/stack-up.ts',
      globalTeardown: '<rootDir>/test/setup/stack-down.ts',
    },
  ],
  testTimeout: 60_000,
  testSequencer: '<rootDir>/test/setup/sequencer.js',
  // A client a failed file left open must not hold the run past its end: CI would wait
  // for its time limit instead of reporting the failure.
  forceExit: true,
  // The default reporter, and at the end of every run, however few files, the totals and
  // each failing test again with its error: a long run's failures do not scroll away.
  reporters: [['default', { summaryThreshold: 0 }]],
};
