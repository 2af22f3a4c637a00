import { createConnection } from 'node:net';
import { AppError, errorMessage } from '../../lib/errors';
import type { TrafficController } from './types';

export interface HaproxyTarget {
  /** The admin-level stats socket (`stats socket <path> level admin`). */
  socketPath: string;
  backend: string;
  canaryServer: string;
  stableServer: string;
  timeoutMs?: number;
}

/**
 * Traffic through HAProxy's runtime API: the canary server gets weight w and the stable
 * server 100 − w, set in one request on the admin socket so that HAProxy applies both
 * before the next connection is balanced. Absolute weights make a retry harmless.
 */
export function createHaproxyController(t: HaproxyTarget): TrafficController {
  const canary = `${t.backend}/${t.canaryServer}`;
  const stable = `${t.backend}/${t.stableServer}`;
  const timeoutMs = t.timeoutMs ?? 5000;
  return {
    async setWeight(weight) {
      if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
        throw new AppError('ValidationError', `weight must be a whole number from 0 to 100, got ${weight}`);
      }
      const outputs = await runtimeCommands(
        t.socketPath,
        [`set weight ${canary} ${weight}`, `set weight ${stable} ${100 - weight}`],
        timeoutMs,
      );
      const refused = outputs.map((o) => o.trim()).filter(Boolean);
      if (refused.length > 0) {
        throw new AppError(
          'ValidationError',
          `HAProxy refused set weight on ${canary} and ${stable}: ${refused.join('; ')}`,
          { backend: t.backend },
        );
      }
    },
    async getWeight() {
      const outputs = await runtimeCommands(t.socketPath, [`get weight ${canary}`, `get weight ${stable}`], timeoutMs);
      const [c, s] = outputs.map((o, i) => parseWeight(o, i === 0 ? canary : stable));
      // Both at 0 means no server takes traffic: the canary's share of it is 0.
      return c + s === 0 ? 0 : Math.round((c * 100) / (c + s));
    },
  };
}

function parseWeight(output: string, server: string): number {
  const match = /^(\d+) \(initial \d+\)/.exec(output.trim());
  if (!match) throw new AppError('ValidationError', `HAProxy get weight ${server}: ${output.trim() || 'empty answer'}`);
  return Number(match[1]);
}

/**
 * Sends commands on one connection in HAProxy's non-interactive mode (`a; b\n`, answered
 * then closed) and returns each command's output; HAProxy ends each one with an empty line.
 */
export function runtimeCommands(socketPath: string, commands: string[], timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: socketPath });
    const chunks: Buffer[] = [];
    let settled = false;
    const fail = (err: AppError) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new AppError('Unavailable', `HAProxy runtime API at ${socketPath} did not answer within ${timeoutMs} ms`)),
    );
    socket.on('connect', () => socket.write(`${commands.join('; ')}\n`));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err) =>
      fail(new AppError('Unavailable', `HAProxy runtime API at ${socketPath}: ${errorMessage(err)}`)),
    );
    socket.on('close', () => {
      if (settled) return;
      settled = true;
      const text = Buffer.concat(chunks).toString('utf8');
      const outputs = text.split('\n\n');
      if (outputs.at(-1)?.trim() === '') outputs.pop();
      if (outputs.length === 1 && commands.length > 1 && outputs[0].trim() !== '') {
        // A parse error ends the request early with one message for all.
        resolve(commands.map((_, i) => (i === 0 ? outputs[0] : '')));
      } else {
        resolve(commands.map((_, i) => outputs[i] ?? ''));
      }
    });
  });
}
