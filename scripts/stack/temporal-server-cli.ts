import {
  buildTemporalTools,
  missingTools,
  temporalServerVersion,
  temporalTools,
  temporalUiVersion,
} from './temporal-tools';

/**
 * `npm run temporal:server -- build [--force]`: builds the real Temporal server, its SQL
 * tool and the Web UI server from their Go modules into .tools/ (never part of `npm run up`:
 * the first build takes minutes). `status` says what is built. Then run the stack on it
 * with `TEMPORAL_SERVER=postgres npm run up`.
 */
const usage = 'usage: npm run temporal:server -- build [--force] | status';

function main(): number {
  const [command, ...rest] = process.argv.slice(2);
  const say = (msg: string) => console.error(`[temporal:server] ${msg}`);
  if (command === 'build') {
    const unknown = rest.filter((a) => a !== '--force');
    if (unknown.length > 0) {
      console.error(`unknown argument ${JSON.stringify(unknown[0])}\n${usage}`);
      return 2;
    }
    const t = buildTemporalTools({ force: rest.includes('--force'), say });
    say(
      `built: server ${temporalServerVersion} and its SQL tool in ${t.dir}, Web UI ${temporalUiVersion} at ${t.uiServer}`,
    );
    say('run the stack on it: TEMPORAL_SERVER=postgres npm run up');
    return 0;
  }
  if (command === 'status') {
    const missing = missingTools();
    if (missing.length === 0) {
      console.log(
        `built: Temporal server ${temporalServerVersion}, Web UI ${temporalUiVersion} (${temporalTools().dir})`,
      );
      return 0;
    }
    console.log(`not built (missing: ${missing.join(', ')}); run: npm run temporal:server -- build`);
    return 1;
  }
  console.error(usage);
  return 2;
}

process.exitCode = main();
