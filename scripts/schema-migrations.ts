import { loadConfig } from '../lib/infra/config';
import { createLogger } from '../lib/infra/logger';
import { migrate, migrationStatus } from '../lib/infra/schema-migrations';

/** `npm run migrate -- up|down|status [count]`: the schema migrations against DATABASE_URL. */
async function main(args: string[]): Promise<number> {
  const [command = 'status', countArg] = args;
  const config = loadConfig();
  const log = createLogger(config, 'migrate');
  const count = countArg === undefined ? undefined : Number(countArg);
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
    console.error(`count must be a whole number of migrations (1 or more), got ${JSON.stringify(countArg)}`);
    return 2;
  }
  switch (command) {
    case 'up':
    case 'down': {
      const ran = await migrate(config.database.url, command, log, { count });
      console.log(ran.length ? `${command}: ${ran.join(', ')}` : `${command}: nothing to do`);
      return 0;
    }
    case 'status': {
      for (const m of await migrationStatus(config.database.url)) {
        console.log(
          `${m.appliedAt ? 'applied ' : 'pending '} ${m.name}${m.appliedAt ? `  (${m.appliedAt.toISOString()})` : ''}`,
        );
      }
      return 0;
    }
    default:
      console.error(`unknown command ${JSON.stringify(command)}: use up, down or status`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`migrate failed: ${err.message}`);
    process.exit(1);
  },
);
