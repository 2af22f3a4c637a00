import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { projectRoot } from '../helpers/paths';

/**
 * The layer rules of .dependency-cruiser.cjs, applied to small trees of the project's
 * shape: the check must pass on what the rules allow and fail on what they forbid, so
 * that `npm run -s deps` in `npm test` guards the real tree.
 */
const depcruise = join(projectRoot, 'node_modules', '.bin', 'depcruise');
const config = join(projectRoot, '.dependency-cruiser.cjs');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'layers-'));
  write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

function check(): { ok: boolean; output: string } {
  const res = spawnSync(depcruise, ['--config', config, '--output-type', 'err', 'workflows', 'activities', 'lib'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

const baseline = () => {
  write('lib/thing/contract.ts', 'export const thingWorkflowId = (id: string) => `thing-${id}`;\n');
  write('lib/infra/db.ts', "import { createServer } from 'node:net';\nexport const db = createServer;\n");
  write(
    'activities/thing/index.ts',
    "import { db } from '../../lib/infra/db';\nimport { thingWorkflowId } from '../../lib/thing/contract';\nexport const act = () => [db, thingWorkflowId('1')];\n",
  );
  write(
    'workflows/thing.ts',
    "import type { act } from '../activities/thing';\nimport { thingWorkflowId } from '../lib/thing/contract';\nexport type A = typeof act;\nexport const w = async () => thingWorkflowId('1');\n",
  );
};

test('a tree that keeps the layers passes', () => {
  baseline();
  expect(check()).toMatchObject({ ok: true });
});

test('an activity that imports a workflow file fails', () => {
  baseline();
  write('activities/thing/start.ts', "import { w } from '../../workflows/thing';\nexport const start = w;\n");
  const { ok, output } = check();
  expect(ok).toBe(false);
  expect(output).toMatch(/activities-stay-side-effects/);
});

test('a workflow that imports I/O, directly or through an activity value, fails', () => {
  baseline();
  write(
    'workflows/io.ts',
    "import { db } from '../lib/infra/db';\nimport { act } from '../activities/thing';\nexport const x = [db, act];\n",
  );
  const { ok, output } = check();
  expect(ok).toBe(false);
  expect(output).toMatch(/workflows-deterministic/);
});

test('a pure lib module that touches a Node built-in fails', () => {
  baseline();
  write('lib/thing/clock.ts', "import { hrtime } from 'node:process';\nexport const now = hrtime;\n");
  const { ok, output } = check();
  expect(ok).toBe(false);
  expect(output).toMatch(/pure-lib/);
});

test('an import circle fails', () => {
  baseline();
  write('lib/thing/a.ts', "import { b } from './b';\nexport const a = () => b;\n");
  write('lib/thing/b.ts', "import { a } from './a';\nexport const b = () => a;\n");
  const { ok, output } = check();
  expect(ok).toBe(false);
  expect(output).toMatch(/no-circular/);
});
