import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portHolder } from '../../scripts/stack/port-holders';
import { stackSettings } from '../../scripts/stack/parts';
import { up } from '../../scripts/stack/stack';

/** The stack refuses a port another process holds, instead of running against that process. */

const listening = (): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
const portOf = (server: Server) => (server.address() as { port: number }).port;
const close = (server: Server) => new Promise((r) => server.close(r));

test('portHolder names the process listening on a port, and nothing once it has closed', async () => {
  const server = await listening();
  const port = portOf(server);
  try {
    expect(portHolder(port)).toMatchObject({ port, pid: process.pid, command: expect.stringContaining('node') });
  } finally {
    await close(server);
  }
  expect(portHolder(port)).toBeUndefined();
});

test('a part whose port another process holds is refused, naming the holder and the override, and nothing is set up', async () => {
  const server = await listening();
  const dataDir = mkdtempSync(join(tmpdir(), 'stack-ports-'));
  try {
    const s = stackSettings('local', { DATA_DIR: dataDir, POSTGRES_PORT: String(portOf(server)) });
    await expect(up(s, { only: ['postgres'] })).rejects.toThrow(
      new RegExp(
        `^cannot start postgres: port ${portOf(server)} is already held by pid ${process.pid} \\(.*node.*\\); ` +
          "it is not this stack's: stop it, or give this stack another port with POSTGRES_PORT$",
      ),
    );
    expect(existsSync(join(dataDir, 'postgres'))).toBe(false);
    expect(readdirSync(dataDir)).toEqual([]);
  } finally {
    await close(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 30_000);
