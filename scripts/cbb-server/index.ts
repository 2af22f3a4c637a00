import { loadConfig } from '../../lib/infra/config';
import { createLogger } from '../../lib/infra/logger';
import { createCbbApp } from './app';
import { createStore } from './store';

/** Entry of the local CBB server that the stack starts (`cbb` service); it keeps everything in memory. */
function main() {
  const config = loadConfig();
  const log = createLogger(config, 'cbb-server');
  // The stack passes CBB_PORT (its own port table); 3100 matches the default CBB_BASE_URL.
  const port = Number(process.env.CBB_PORT ?? 3100);
  if (!config.cbb.adminToken) {
    // Closed by default: its admin side serves phone numbers and resets state.
    log.fatal('CBB_ADMIN_TOKEN is not set: the local CBB server will not start without an admin token');
    process.exit(1);
  }
  const app = createCbbApp(createStore(), config.cbb.apiKey, config.cbb.adminToken);
  const server = app.listen(port, '127.0.0.1', () =>
    log.info({ url: `http://127.0.0.1:${port}/api` }, 'local CBB server listening'),
  );
  server.keepAliveTimeout = 65_000;
  server.on('error', (err) => {
    log.fatal({ err }, 'local CBB server could not listen');
    process.exit(1);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
