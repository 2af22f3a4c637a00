import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { envSchema } from '../../lib/infra/config';
import { temporalServerVersion, temporalUiVersion } from '../../scripts/stack/temporal-tools';
import { workerHeapLimit } from '../../scripts/stack/parts';

/** docker-compose.yml cannot be run here (no Docker engine), so it is checked as far as it can be. */
const root = join(__dirname, '..', '..');

type Port = string | { host_ip?: string; published?: string | number };
type Service = {
  image?: string;
  environment?: Record<string, string>;
  command?: string[] | string;
  entrypoint?: string[] | string;
  ports?: Port[];
  depends_on?: Record<string, { condition: string }> | string[];
  deploy?: { replicas?: number };
  build?: unknown;
};
type Compose = { services: Record<string, Service> };

/** The secrets compose requires, with values a test can look for in the rendered file. */
const secrets = {
  POSTGRES_PASSWORD: 'pg-superuser-secret-1',
  APP_DB_PASSWORD: 'app-role-secret-2',
  TEMPORAL_DB_PASSWORD: 'temporal-db-secret-3',
  REDIS_PASSWORD: 'redis-secret-4',
  API_KEY_CACHE_SECRET: 'api-key-cache-secret-5-0123456789abcdef',
};

/** The caller's environment without any of the secrets, so a developer's .env or shell cannot mask a default. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(secrets)) delete env[name];
  return env;
}

const run = (env: NodeJS.ProcessEnv) => spawnSync('docker-compose', ['config'], { cwd: root, env, encoding: 'utf8' });

function config(): Compose {
  const out = run({ ...baseEnv(), ...secrets });
  if (out.status !== 0) throw new Error(`docker-compose config failed: ${out.stderr}`);
  return load(out.stdout) as Compose;
}

const words = (x: string[] | string | undefined) => (Array.isArray(x) ? x.join(' ') : (x ?? ''));
const hostIp = (p: Port) => (typeof p === 'string' ? (p.split(':').length === 3 ? p.split(':')[0] : '') : p.host_ip);

test('docker-compose config accepts the file once the secrets are set', () => {
  expect(() =>
    execFileSync('docker-compose', ['config', '-q'], { cwd: root, env: { ...baseEnv(), ...secrets }, stdio: 'pipe' }),
  ).not.toThrow();
});

test.each(Object.keys(secrets))('docker-compose config refuses to run without %s, naming it', (name) => {
  const env: NodeJS.ProcessEnv = { ...baseEnv(), ...secrets };
  delete env[name];
  const out = run(env);
  expect(out.status).not.toBe(0);
  expect(out.stderr).toContain(`set ${name}`);
});

test('no secret has a default to fall back on', () => {
  const source = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
  expect(source.match(/\$\{\w*(PASSWORD|PWD|SECRET|TOKEN|KEY)\w*:?-[^}]+\}/g) ?? []).toEqual([]);
});

test('the app services run compiled entry points that the build produces', () => {
  const compose = config();
  expect(Object.keys(compose.services).sort()).toEqual(
    [
      'api',
      'api-proxy',
      'postgres',
      'postgres-roles',
      'redis',
      'setup',
      'temporal',
      'temporal-db',
      'temporal-namespace',
      'temporal-schema',
      'temporal-ui',
      'worker',
    ].sort(),
  );
  const tsconfig = readFileSync(join(root, 'tsconfig.build.json'), 'utf8');
  for (const name of ['api', 'worker', 'setup']) {
    for (const entry of words(compose.services[name].command).match(/dist\/[\w/-]+\.js/g) ?? []) {
      const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(readFileSync(join(root, source), 'utf8').length).toBeGreaterThan(0);
      expect(tsconfig).toContain(source.split('/')[0]);
    }
  }
});

test('the app services use only environment names the config knows', () => {
  const compose = config();
  const known = new Set(Object.keys(envSchema.shape));
  for (const name of ['api', 'worker', 'setup']) {
    const env = compose.services[name].environment!;
    const unknown = Object.keys(env).filter((k) => !known.has(k));
    expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
  }
});

test('nothing is published beyond the host loopback: not Temporal, not its UI, not the API', () => {
  const compose = config();
  const published = Object.entries(compose.services).flatMap(([name, s]) =>
    (s.ports ?? []).map((p) => ({ name, hostIp: hostIp(p) })),
  );
  expect(published.map((p) => p.name).sort()).toEqual(['api-proxy', 'temporal', 'temporal-ui']);
  for (const p of published) expect(p).toEqual({ name: p.name, hostIp: '127.0.0.1' });
});

test('the API runs in replicas behind one door, and the setup makes a key the API requires', () => {
  const compose = config();
  expect(compose.services.api.deploy?.replicas).toBeGreaterThanOrEqual(2);
  expect(compose.services.api.ports ?? []).toEqual([]);
  const haproxy = readFileSync(join(root, 'deploy/compose/haproxy.cfg'), 'utf8');
  expect(haproxy).toMatch(/server-template \S+ \d+ api:3000 .*resolvers docker/);
  expect(words(compose.services.setup.command)).toMatch(/access\/cli\.js create --if-none .*--out /);
});

test('the app connects to Postgres as the role postgres-roles makes, not as the superuser', () => {
  const compose = config();
  const url = new URL(compose.services.setup.environment!.DATABASE_URL);
  const roles = compose.services['postgres-roles'];
  expect(decodeURIComponent(url.username)).toBe(roles.environment!.APP_DB_USER);
  expect(url.username).not.toBe(compose.services.postgres.environment!.POSTGRES_USER);
  expect(decodeURIComponent(url.password)).toBe(secrets.APP_DB_PASSWORD);
  expect(roles.environment!.PGPASSWORD).toBe(secrets.POSTGRES_PASSWORD);
  expect(compose.services.setup.depends_on).toMatchObject({
    'postgres-roles': { condition: 'service_completed_successfully' },
  });
  for (const name of ['api', 'worker', 'setup'])
    expect(JSON.stringify(compose.services[name].environment)).not.toContain(secrets.POSTGRES_PASSWORD);
});

test('Redis requires its password, which REDIS_URL carries and no command line shows', () => {
  const compose = config();
  expect(new URL(compose.services.worker.environment!.REDIS_URL).password).toBe(secrets.REDIS_PASSWORD);
  const redis = compose.services.redis;
  const argv = `${words(redis.entrypoint)} ${words(redis.command)}`;
  expect(argv).toContain('requirepass');
  expect(argv).not.toContain(secrets.REDIS_PASSWORD);
});

test('Temporal runs the server image on a schema the admin tools apply, not the development image', () => {
  const compose = config();
  expect(compose.services.temporal.image).toMatch(/^temporalio\/server:/);
  expect(JSON.stringify(compose)).not.toContain('auto-setup');
  expect(compose.services.temporal.depends_on).toMatchObject({
    'temporal-schema': { condition: 'service_completed_successfully' },
  });
  expect(compose.services['temporal-schema'].image).toMatch(/^temporalio\/admin-tools:/);
  const version = (image?: string) => image?.split(':')[1];
  expect(version(compose.services['temporal-schema'].image)).toBe(version(compose.services.temporal.image));
  const script = readFileSync(join(root, 'deploy/compose/temporal-schema.sh'), 'utf8');
  for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d']) expect(script).toContain(step);
  expect(compose.services.setup.depends_on).toMatchObject({
    'temporal-namespace': { condition: 'service_completed_successfully' },
  });
});

test("compose's and the image's worker run with the local stack's heap limit", () => {
  expect(words(config().services.worker.command)).toContain(workerHeapLimit);
  expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toContain(`"${workerHeapLimit}"`);
});

test("compose's server reads the dynamic config the local stack's real server reads", () => {
  type Volume = string | { source?: string; target?: string };
  const temporal = config().services.temporal as Service & { volumes?: Volume[] };
  const path = temporal.environment!.DYNAMIC_CONFIG_FILE_PATH;
  // docker-compose renders a bind mount as `source:target[:mode]` or as an object, by version.
  const mounts = (temporal.volumes ?? []).map((v) =>
    typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v,
  );
  const mount = mounts.find((v) => path.startsWith(`${v.target}/`));
  expect(mount?.source).toBe(join(root, 'deploy', 'compose'));
  expect(readFileSync(join(mount!.source!, path.slice(mount!.target!.length)), 'utf8')).toMatch(
    /^frontend\.namespaceRPS\.visibility:/m,
  );
  expect(readFileSync(join(root, 'scripts/stack/temporal-server.ts'), 'utf8')).toContain(
    "'deploy', 'compose', 'temporal-dynamic-config.yaml'",
  );
});

test("the local stack's real-server mode builds the versions compose runs", () => {
  const compose = config();
  const version = (image?: string) => image?.split(':')[1];
  expect(version(compose.services.temporal.image)).toBe(temporalServerVersion);
  expect(version(compose.services['temporal-ui'].image)).toBe(temporalUiVersion);
});
