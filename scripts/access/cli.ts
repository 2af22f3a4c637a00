import { parseArgs } from 'node:util';
import { grantSchema, parseLifetime, scopes, tierSchema, tiers } from '../../lib/access/keys';
import { AppError, errorMessage } from '../../lib/errors';
import { loadConfig } from '../../lib/infra/config';
import { createPool } from '../../lib/infra/db';
import { createLogger } from '../../lib/infra/logger';
import { createRedis } from '../../lib/infra/redis';
import { writeSecretFile } from '../../lib/infra/secret-file';
import { anyApiKey, createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from '../../store/access/api-keys';

const usage = `usage:
  apikey create --name <name> --scopes <a,b> --tier ${tiers.join('|')} [--expires 30d|12h|90m]
      prints the key once: keep it, the server keeps only its hash
      --out <file>: write the key to the file (mode 600) instead, and print only its record
      --if-none: do nothing when a key exists already (a setup step that runs at every start)
  apikey list
  apikey revoke <prefix>      refused at once by every API instance
  apikey rotate <prefix>      a new key with the same name, scopes, tier and expiry; the old one is revoked
scopes: ${scopes.join(', ')}, or * for all
the keys live in the database of DATABASE_URL and are cached in the Redis of REDIS_URL (the local stack's by default)`;

function createInput(values: { name?: string; scopes?: string; tier?: string; expires?: string }) {
  if (!values.name) throw new AppError('ValidationError', '--name is required: who or what the key is for');
  const given = (values.scopes ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (given.length === 0)
    throw new AppError('ValidationError', `--scopes is required: a comma-separated list of ${scopes.join(', ')} or *`);
  const bad = given.filter((s) => !grantSchema.safeParse(s).success);
  if (bad.length > 0)
    throw new AppError('ValidationError', `unknown scope ${bad.join(', ')}; the scopes are ${scopes.join(', ')} and *`);
  const tier = tierSchema.safeParse(values.tier ?? 'free');
  if (!tier.success)
    throw new AppError(
      'ValidationError',
      `--tier must be one of ${tiers.join(', ')}, got ${JSON.stringify(values.tier)}`,
    );
  let expiresAt: Date | undefined;
  if (values.expires !== undefined) {
    const ms = parseLifetime(values.expires);
    if (ms === undefined)
      throw new AppError(
        'ValidationError',
        `--expires must be a lifetime such as 30d, 12h or 90m, got ${JSON.stringify(values.expires)}`,
      );
    expiresAt = new Date(Date.now() + ms);
  }
  return { name: values.name, scopes: given.map((s) => grantSchema.parse(s)), tier: tier.data, expiresAt };
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      tier: { type: 'string' },
      expires: { type: 'string' },
      out: { type: 'string' },
      'if-none': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, prefix] = positionals;
  if (values.help || !command) {
    console.log(usage);
    return;
  }
  const config = loadConfig();
  const log = createLogger({ log: { level: 'warn', pretty: false } }, 'apikey');
  const pool = createPool(config, log, 'apikey');
  const redis = createRedis(config, log);
  try {
    switch (command) {
      case 'create': {
        const input = createInput(values);
        if (values['if-none'] && (await anyApiKey(pool))) {
          console.error('an API key exists already: none created');
          break;
        }
        const { key, record } = await createApiKey(pool, input);
        if (values.out) {
          writeSecretFile(values.out, `${key}\n`);
          console.log(JSON.stringify({ ...record, keyFile: values.out }, null, 2));
        } else {
          console.log(JSON.stringify({ ...record, key }, null, 2));
          console.error('This is the only time the key is shown: store it now.');
        }
        break;
      }
      case 'list':
        console.log(JSON.stringify(await listApiKeys(pool), null, 2));
        break;
      case 'revoke':
      case 'rotate': {
        if (!prefix)
          throw new AppError('ValidationError', `${command} needs the key's prefix (ak_…), as \`list\` shows it`);
        const result =
          command === 'revoke' ? await revokeApiKey(pool, redis, prefix) : await rotateApiKey(pool, redis, prefix);
        if (!result) throw new AppError('NotFound', `no API key has the prefix ${JSON.stringify(prefix)}`);
        console.log(JSON.stringify(result, null, 2));
        if (command === 'rotate') console.error('This is the only time the new key is shown: store it now.');
        break;
      }
      default:
        throw new AppError('ValidationError', `unknown command ${JSON.stringify(command)}\n${usage}`);
    }
  } finally {
    await Promise.allSettled([pool.end(), redis.quit()]);
  }
}

main().catch((err) => {
  console.error(errorMessage(err));
  process.exit(1);
});
