import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

// The sequencer is plain JavaScript (jest loads it before any transform); its contract is
// what `npm test`'s shards rely on: every file in exactly one shard, the chaos run last.
const Sequencer = require('../setup/sequencer.js');

const root = resolve(__dirname, '..');
type FakeTest = { path: string; context: { config: { displayName: { name: string }; cache: boolean } } };

// One context per project, as jest has: no timing cache, every file the same size, so the
// base order is by path and only the sequencer's own rules move a file.
const contexts = new Map<string, object>();
const contextOf = (project: string) => {
  if (!contexts.has(project))
    contexts.set(project, { config: { displayName: { name: project }, cache: false }, hasteFS: { getSize: () => 1 } });
  return contexts.get(project) as FakeTest['context'];
};

function allTestFiles(): FakeTest[] {
  const found: FakeTest[] = [];
  const walk = (dir: string, project: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, project);
      else if (e.name.endsWith('.test.ts')) found.push({ path: p, context: contextOf(project) });
    }
  };
  walk(join(root, 'unit'), 'unit');
  for (const d of ['workflows', 'replay']) walk(join(root, d), 'workflows');
  for (const d of ['integration', 'e2e']) walk(join(root, d), 'stack');
  return found;
}

const sequencer = () => new Sequencer({ contexts: [], globalConfig: {} });

test('every test file lands in exactly one of the shards, for 1 to 4 shards', () => {
  const tests = allTestFiles();
  expect(tests.length).toBeGreaterThan(100);
  for (const n of [1, 2, 3, 4]) {
    const shards = Array.from({ length: n }, (_, i) => sequencer().shard(tests, { shardIndex: i + 1, shardCount: n }));
    const seen = shards.flat().map((t: FakeTest) => t.path);
    expect(seen.sort()).toEqual(tests.map((t) => t.path).sort());
  }
});

test('two shards get the slow files apart: the three slowest are not all in one', () => {
  const tests = allTestFiles();
  const [a, b] = [1, 2].map((k) => sequencer().shard(tests, { shardIndex: k, shardCount: 2 }) as FakeTest[]);
  const slowest = ['e2e/cbb-sync.test.ts', 'e2e/chaos.test.ts', 'e2e/rollout-demo.test.ts'];
  const inA = slowest.filter((s) => a.some((t) => t.path.endsWith(`/test/${s}`)));
  expect(inA.length).toBeGreaterThan(0);
  expect(inA.length).toBeLessThan(3);
  // Balanced in count too, within a fifth of the files.
  expect(Math.abs(a.length - b.length)).toBeLessThan(tests.length / 5);
});

test('the chaos run sorts last in its shard', async () => {
  const tests = allTestFiles();
  for (const k of [1, 2]) {
    const s = sequencer();
    const shard = s.shard(tests, { shardIndex: k, shardCount: 2 }) as FakeTest[];
    const sorted = (await s.sort(shard)) as FakeTest[];
    expect(sorted).toHaveLength(shard.length);
    const at = sorted.findIndex((t) => t.path.endsWith('/test/e2e/chaos.test.ts'));
    if (at >= 0) expect(at).toBe(sorted.length - 1);
  }
});
