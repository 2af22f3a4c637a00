// Runs StrykerJS through its API. Its command line refuses Node.js older than 22 at load;
// the project runs Node 20, where the parts the jest runner uses work (see README, Tests).
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const core = dirname(realpathSync(require.resolve('@stryker-mutator/core/package.json')));
const { Stryker } = await import(pathToFileURL(join(core, 'dist', 'src', 'stryker.js')).href);

// `--concurrency=1`, and `--mutate=a.ts,b.ts` to mutate some of the configured files only.
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const options = { configFile: 'stryker.config.json' };
if (arg('concurrency')) options.concurrency = Number(arg('concurrency'));
if (arg('mutate')) options.mutate = arg('mutate').split(',');
const results = await new Stryker(options).runMutationTest();
// Stryker's own score: killed and timed-out mutants over all valid ones (survived and uncovered count against it).
const detected = (m) => m.status === 'Killed' || m.status === 'Timeout';
const valid = (m) => !['CompileError', 'RuntimeError', 'Ignored'].includes(m.status);
const byFile = new Map();
for (const m of results.filter(valid)) {
  const f = byFile.get(m.fileName) ?? { detected: 0, valid: 0 };
  f.valid++;
  if (detected(m)) f.detected++;
  byFile.set(m.fileName, f);
}
const pct = (f) => ((100 * f.detected) / Math.max(1, f.valid)).toFixed(2);
for (const [file, f] of [...byFile].sort()) console.log(`${pct(f).padStart(6)} %  ${f.detected}/${f.valid}  ${file}`);
const total = [...byFile.values()].reduce((t, f) => ({ detected: t.detected + f.detected, valid: t.valid + f.valid }), {
  detected: 0,
  valid: 0,
});
console.log(`mutation score: ${pct(total)} % (${total.detected} of ${total.valid} mutants detected)`);
process.exitCode = total.detected / Math.max(1, total.valid) >= 0.8 ? 0 : 1;
