import { Connection } from '@temporalio/client';
import { loadConfig } from '../lib/infra/config';
import { temporalConnectionOptions } from '../lib/infra/temporal';
import { ensureSearchAttributes } from '../lib/infra/temporal-setup';

/**
 * `npm run temporal:setup`: registers the custom search attributes the workflows use
 * on the namespace at TEMPORAL_ADDRESS (a self-hosted cluster; on Temporal Cloud,
 * add them in the Cloud UI or with tcld, since namespaces there refuse this call).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const connection = await Connection.connect(temporalConnectionOptions(config));
  try {
    const added = await ensureSearchAttributes(connection, config.temporal.namespace);
    console.log(
      added.length ? `registered search attributes: ${added.join(', ')}` : 'search attributes already registered',
    );
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(`temporal setup failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
