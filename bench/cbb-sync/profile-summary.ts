import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npx tsx bench/cbb-sync/profile-summary.ts <dir> [orders]`: what the `.cpuprofile`
 * files a `--profile cpu` run wrote say, by thread: self time grouped into the parts of
 * a sync (the SDK's activation and local-activity plumbing, payload conversion, the
 * interceptors, logging, pg, HTTP, our own code, GC), then the heaviest functions.
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const groups: [string, RegExp][] = [
  ['GC', /^\(garbage collector\)$/],
  ['idle', /^\((idle|program)\)$/],
  ['interceptors', /workers\/interceptors|workflows\/interceptors|lib\/correlation/],
  ['logging', /pino|sonic-boom|temporal-logger|lib\/infra\/logger|workflow\/lib\/logs|worker\/lib\/logger/],
  ['payload conversion', /common\/lib\/converter|payload-codec|proto3-json|json-payload|failure-converter/],
  ['protobuf', /protobufjs|@temporalio\/proto/],
  ['pg', /node_modules\/pg|pg-protocol|pg-pool|pg-types/],
  ['HTTP (fetch)', /undici|internal\/deps\/undici|node:internal\/(http|net|stream)/],
  ['SDK worker (activation, local activities)', /@temporalio\/worker/],
  ['SDK workflow runtime', /@temporalio\/workflow|workflow-bundle/],
  ['SDK core bridge', /@temporalio\/core-bridge/],
  ['SDK other', /@temporalio\//],
  ['project code', /\/(activities|lib|store|workflows|workers)\//],
  ['Node internals', /^node:|^internal\//],
];

function groupOf(frame: Node['callFrame']): string {
  const key = frame.url || frame.functionName;
  for (const [name, re] of groups) if (re.test(key)) return name;
  return frame.url ? 'other libraries' : `(native) ${frame.functionName || 'anonymous'}`;
}

function summarize(file: string, orders: number | undefined): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byGroup = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    byGroup.set(groupOf(f), (byGroup.get(groupOf(f)) ?? 0) + us);
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*node_modules\//, '')}:${f.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const busy = total - (byGroup.get('idle') ?? 0);
  const fmt = (us: number) =>
    `${(us / 1000).toFixed(0).padStart(7)} ms ${((us / busy) * 100).toFixed(1).padStart(5)} %` +
    (orders ? ` ${(us / 1000 / orders).toFixed(2).padStart(6)} ms/order` : '');
  console.log(`\n${file}: ${(busy / 1e6).toFixed(1)} s busy of ${(total / 1e6).toFixed(1)} s`);
  for (const [g, us] of [...byGroup].sort((a, b) => b[1] - a[1])) if (g !== 'idle') console.log(`  ${fmt(us)}  ${g}`);
  console.log('  heaviest functions (self time):');
  for (const [f, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`    ${fmt(us)}  ${f}`);
}

const [dir, orders] = process.argv.slice(2);
if (!dir) throw new Error('usage: profile-summary.ts <dir with .cpuprofile files> [orders]');
for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')))
  summarize(join(dir, f), orders ? Number(orders) : undefined);
