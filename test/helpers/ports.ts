import { createServer } from 'node:net';

/**
 * A port no one listens on now, chosen by the kernel: for a process a test starts whose
 * port nothing else needs to know in advance, so it cannot meet a port of the stack.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
