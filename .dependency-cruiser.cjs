/**
 * Who may import whom (docs/architecture.md): `npm test` runs this check, so a change
 * that breaks a layer or closes an import circle fails CI.
 */
const pureLib = '^lib/(?!infra/)';
// Packages that do no I/O and keep to what Temporal's workflow sandbox allows.
const purePackages = 'node_modules/(zod|libphonenumber-js|@temporalio/(workflow|common))/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle ties modules into one that cannot be read or tested apart.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'workflows-deterministic',
      severity: 'error',
      comment:
        'Workflow code runs in the deterministic sandbox: it imports the SDK, contracts and pure lib modules; ' +
        'activities as types only. Side effects belong in an activity.',
      from: { path: '^workflows/' },
      to: { pathNot: [`^workflows/`, pureLib, purePackages], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'pure-lib',
      severity: 'error',
      comment:
        'lib/<process>/ and lib/*.ts hold contracts and pure domain logic that workflows import: no I/O, no Node built-ins.',
      from: { path: pureLib },
      to: { pathNot: [pureLib, purePackages], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'lib-is-the-bottom',
      severity: 'error',
      comment: 'lib/ is imported by every layer and imports none of them.',
      from: { path: '^lib/' },
      to: { path: '^(api|activities|workflows|workers|store|scripts|bench|test)/' },
    },
    {
      name: 'store-owns-sql-only',
      severity: 'error',
      comment: 'store/ owns the tables and is used by activities, the API and the CLIs; it imports lib only.',
      from: { path: '^store/' },
      to: { path: '^(api|activities|workflows|workers|scripts|bench|test)/' },
    },
    {
      name: 'activities-stay-side-effects',
      severity: 'error',
      comment: 'An activity that needs a workflow id or start options imports the contract, never the workflow file.',
      from: { path: '^activities/' },
      to: { path: '^(api|workflows|workers|scripts|bench|test)/' },
    },
    {
      name: 'api-through-contracts',
      severity: 'error',
      comment: 'The API starts and signals workflows by the names in lib/<process>/contract.ts.',
      from: { path: '^api/' },
      to: { path: '^(activities|workflows|workers|scripts|bench|test)/' },
    },
    {
      name: 'workers-register-not-import-workflows',
      severity: 'error',
      comment:
        'Workers load the workflow bundle by path; importing workflow functions would run them outside the sandbox.',
      from: { path: '^(workers|scripts)/' },
      to: { path: '^(workflows|api|test)/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|\\.data|\\.venv)/' },
  },
};
