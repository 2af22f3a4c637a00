import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The layer picture in docs/layers.md, drawn from the imports themselves: every module's
 * dependencies as dependency-cruiser finds them, folded into the layers of
 * docs/architecture.md. `npm run deps:picture` writes it; `--check` fails when the file no
 * longer matches the code, so the picture cannot fall behind.
 */

const root = join(__dirname, '..', '..');
const target = join(root, 'docs', 'layers.md');
const folders = ['workflows', 'activities', 'workers', 'api', 'lib', 'store', 'scripts', 'bench'];

/** The layers, top to bottom; the first whose pattern matches a path names its layer. */
const layers: [name: string, pattern: RegExp][] = [
  ['scripts', /^scripts\//],
  ['bench', /^bench\//],
  ['api', /^api\//],
  ['workers', /^workers\//],
  ['workflows', /^workflows\//],
  ['activities', /^activities\//],
  ['store', /^store\//],
  ['lib/infra', /^lib\/infra\//],
  ['lib', /^lib\//],
];

interface Cruised {
  modules: { source: string; dependencies: { resolved: string; dependencyTypes: string[] }[] }[];
}

const layerOf = (path: string) => layers.find(([, p]) => p.test(path))?.[0];
const nodeId = (layer: string) => layer.replace('/', '_');

export function picture(cruised: Cruised): string {
  const edges = new Map<string, { imports: number; typeOnly: number }>();
  for (const m of cruised.modules) {
    const from = layerOf(m.source);
    for (const d of m.dependencies) {
      const to = layerOf(d.resolved);
      if (!from || !to || from === to) continue;
      const e = edges.get(`${from} ${to}`) ?? { imports: 0, typeOnly: 0 };
      e.imports++;
      if (d.dependencyTypes.includes('type-only')) e.typeOnly++;
      edges.set(`${from} ${to}`, e);
    }
  }
  const lines = [...edges.entries()]
    .sort(
      ([a], [b]) =>
        layers.findIndex(([n]) => a.startsWith(`${n} `)) - layers.findIndex(([n]) => b.startsWith(`${n} `)) ||
        a.localeCompare(b),
    )
    .map(([key, e]) => {
      const [from, to] = key.split(' ');
      // Only type imports (a workflow naming its activities' types) are drawn dotted: no code crosses.
      const arrow = e.typeOnly === e.imports ? '-.->' : '-->';
      return `  ${nodeId(from)} ${arrow}|${e.imports}| ${nodeId(to)}`;
    });
  return [
    '# Layers, drawn from the code',
    '',
    'Written by `npm run deps:picture` from the imports dependency-cruiser finds (`npm run deps`',
    'checks the rules); a unit test fails when this picture no longer matches the code. Each',
    'arrow is the number of imports from one layer into another; a dotted one carries types only.',
    'The rules behind it are in docs/architecture.md: `lib` imports nothing above it, `store` only',
    '`lib`, workflows take activities as types only, and `api` and `workers` are imported by no',
    'layer but the tools that start them (`scripts`, `bench`).',
    '',
    '```mermaid',
    'flowchart TD',
    ...layers.map(([name]) => `  ${nodeId(name)}[${name}]`),
    ...lines,
    '```',
    '',
  ].join('\n');
}

export function cruise(): Cruised {
  const out = execFileSync(
    join(root, 'node_modules', '.bin', 'depcruise'),
    ['--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...folders],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return JSON.parse(out) as Cruised;
}

if (require.main === module) {
  const drawn = picture(cruise());
  if (process.argv.includes('--check')) {
    if (readFileSync(target, 'utf8') !== drawn) {
      console.error('docs/layers.md does not match the code: run `npm run deps:picture`');
      process.exit(1);
    }
  } else {
    writeFileSync(target, drawn);
    console.log(`wrote ${target}`);
  }
}
