import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../lib/rollout/duration';
import { partNames, type PartName } from '../stack/parts';
import { allLoads, defaultVictims, runChaos, type LoadName } from './run';
import { parseSeed } from './schedule';

const usage = `usage: npm run chaos -- [--minutes N] [--seed S] [--kill-every 30s] [--parts a,b] [--loads a,b] [--scale F] [--test-stack]

Puts all five processes under load through the API of the stack \`npm run up\` started,
SIGKILLs a part of the stack every --kill-every (the supervisor brings it back), then
checks and prints every invariant. The same --seed gives the same kill schedule.
  --minutes     the chaos window (default 10)
  --seed        the kill schedule's seed (default: a random one, printed first)
  --kill-every  time between kills (default 30s)
  --parts       which parts may be killed (default ${defaultVictims.join(',')})
  --loads       which processes get load (default ${Object.keys(allLoads).join(',')})
  --scale       the load's size: 1 is 300 orders, a 300,000-row migration, 3 rollouts,
                20 machines with 32 operations and 4 deletes, 10 analyses (default 1)
  --test-stack  run on the test stack of TEST_STACK_SLOT instead of the local one
The run seeds the demo trades table afresh for its migration.`;

function list<T extends string>(flag: string, text: string | undefined, known: readonly string[]): T[] | undefined {
  if (text === undefined) return undefined;
  const items = text
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const unknown = items.filter((x) => !known.includes(x));
  if (items.length === 0 || unknown.length > 0)
    throw new Error(
      `${flag} takes a comma-separated list of ${known.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`,
    );
  return items as T[];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      seed: { type: 'string' },
      'kill-every': { type: 'string', default: '30s' },
      parts: { type: 'string' },
      loads: { type: 'string' },
      scale: { type: 'string', default: '1' },
      'test-stack': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const minutes = Number(values.minutes);
  if (!(minutes > 0 && minutes <= 24 * 60))
    throw new Error(`--minutes must be a number of minutes above 0, got ${values.minutes}`);
  const killEveryMs = parseDuration(values['kill-every']!);
  if (!killEveryMs || killEveryMs < 1000)
    throw new Error(`--kill-every must be a duration of 1s or more (30s, 2m), got ${values['kill-every']}`);
  const scale = Number(values.scale);
  if (!(scale > 0 && scale <= 10)) throw new Error(`--scale must be above 0 and at most 10, got ${values.scale}`);
  const result = await runChaos({
    profile: values['test-stack'] ? 'test' : 'local',
    seed: values.seed === undefined ? randomInt(0, 2 ** 31) : parseSeed(values.seed),
    windowMs: Math.round(minutes * 60_000),
    killEveryMs,
    victims: list<PartName>('--parts', values.parts, partNames),
    loads: list<LoadName>('--loads', values.loads, Object.keys(allLoads)),
    scale,
  });
  console.log(`\n${result.report}`);
  return result.held ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`chaos: ${err.message}\n\n${usage}`);
    process.exit(2);
  },
);
