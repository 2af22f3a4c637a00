import { execFile } from 'node:child_process';
import { fromLibvirt } from './libvirt-errors';

/**
 * What the binding lacks (reboot, snapshots, memory and vCPU sizes, undefine with
 * snapshots) goes through `virsh`, libvirt's own client, on the same URI. execFile
 * passes every argument as it is, no shell, and names are validated to start with a
 * letter, so no value can become an option or a command.
 */

export interface Virsh {
  run(operation: string, domain: string | undefined, args: string[]): Promise<string>;
}

export function createVirsh(opts: { uri: string; timeoutMs?: number; command?: string }): Virsh {
  const timeout = opts.timeoutMs ?? 60_000;
  return {
    run(operation, domain, args) {
      return new Promise((resolve, reject) => {
        execFile(
          opts.command ?? 'virsh',
          ['--quiet', '-c', opts.uri, ...args],
          {
            timeout,
            env: { PATH: process.env.PATH, HOME: process.env.HOME, LC_ALL: 'C' },
            maxBuffer: 16 * 1024 * 1024,
          },
          (err, stdout, stderr) => {
            if (!err) return resolve(stdout);
            const said = stderr
              .split('\n')
              .filter((l) => l.startsWith('error:'))
              .map((l) => l.slice('error:'.length).trim())
              .join('; ');
            const why = said || (err.killed ? `virsh timed out after ${timeout} ms` : err.message);
            reject(fromLibvirt(why, operation, domain));
          },
        );
      });
    },
  };
}
