import { readdirSync } from 'node:fs';

/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts, whose default export takes
 * the remaining arguments. Each benchmark prints its figures as ratios against a
 * baseline measured in the same run, since absolute times on a shared machine are noise.
 */
async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const available = readdirSync(__dirname)
    .filter((f) => /\.ts$/.test(f) && f !== 'run.ts' && !f.startsWith('_'))
    .map((f) => f.replace(/\.ts$/, ''));
  if (!name || !available.includes(name)) {
    console.error(`usage: npm run bench -- <name> [args]\navailable: ${available.join(', ') || '(none yet)'}`);
    process.exit(2);
  }
  const mod = (await import(`./${name}`)) as { default: (args: string[]) => Promise<void> };
  await mod.default(args);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
