import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { envSchema } from '../../lib/infra/config';

/** docker-compose.yml cannot be run here (no Docker engine), so it is checked as far as it can be. */
const root = join(__dirname, '..', '..');

type Compose = {
  services: Record<string, { environment?: Record<string, string> | string[]; command?: string[]; build?: unknown }>;
};

test('docker-compose config accepts the file', () => {
  expect(() => execFileSync('docker-compose', ['config', '-q'], { cwd: root, stdio: 'pipe' })).not.toThrow();
});

test('the app services run compiled entry points that the build produces', () => {
  const compose = load(execFileSync('docker-compose', ['config'], { cwd: root }).toString()) as Compose;
  expect(Object.keys(compose.services).sort()).toEqual(
    ['api', 'postgres', 'redis', 'setup', 'temporal', 'temporal-db', 'temporal-ui', 'worker'].sort(),
  );
  const tsconfig = readFileSync(join(root, 'tsconfig.build.json'), 'utf8');
  for (const name of ['api', 'worker', 'setup']) {
    const command = compose.services[name].command!.join(' ');
    for (const entry of command.match(/dist\/[\w/-]+\.js/g) ?? []) {
      const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(readFileSync(join(root, source), 'utf8').length).toBeGreaterThan(0);
      expect(tsconfig).toContain(source.split('/')[0]);
    }
  }
});

test('the app services use only environment names the config knows', () => {
  const compose = load(execFileSync('docker-compose', ['config'], { cwd: root }).toString()) as Compose;
  const known = new Set(Object.keys(envSchema.shape));
  for (const name of ['api', 'worker', 'setup']) {
    const env = compose.services[name].environment as Record<string, string>;
    const unknown = Object.keys(env).filter((k) => !known.has(k));
    expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
  }
});

test('no open API: published on the host loopback only, and the setup makes a key the API requires', () => {
  const compose = load(execFileSync('docker-compose', ['config'], { cwd: root }).toString()) as {
    services: Record<string, { ports?: (string | { host_ip?: string })[]; command?: string[] }>;
  };
  const ports = compose.services.api.ports ?? [];
  expect(ports.length).toBeGreaterThan(0);
  // docker-compose v1 prints `127.0.0.1:3000:3000/tcp`, v2 an object with host_ip.
  for (const p of ports) expect(typeof p === 'string' ? p.split(':')[0] : p.host_ip).toBe('127.0.0.1');
  expect(compose.services.setup.command!.join(' ')).toMatch(/access\/cli\.js create --if-none .*--out /);
});
