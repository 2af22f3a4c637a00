import { ConfigError, loadConfig } from '../../lib/infra/config';

describe('loadConfig', () => {
  test('defaults point at the local stack', () => {
    const config = loadConfig({});
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.temporal.taskQueue).toBe('orchestrator');
    expect(config.database.url).toContain('127.0.0.1:55432');
    expect(config.redis.url).toBe('redis://127.0.0.1:56379');
    expect(config.api).toMatchObject({ host: '127.0.0.1', port: 3000 });
    expect(config.temporal.tls).toBeUndefined();
  });

  test('a bad value names the variable and what it expected', () => {
    expect(() => loadConfig({ API_PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadConfig({ API_PORT: '70000' })).toThrow(/API_PORT: expected at most 65535, got "70000"/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL: expected one of fatal, error/);
    expect(() => loadConfig({ WORKER_SHUTDOWN_GRACE: 'soon' })).toThrow(/WORKER_SHUTDOWN_GRACE: expected a duration/);
  });

  test('every bad variable is reported at once', () => {
    try {
      loadConfig({ API_PORT: 'x', REDIS_URL: 'http://nope' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as Error).message).toMatch(/API_PORT/);
      expect((err as Error).message).toMatch(/REDIS_URL/);
    }
  });

  test('a secret never appears in the error', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db/x' })).toThrow(
      /DATABASE_URL: expected .*got \(hidden\)/,
    );
    expect(() => loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db/x' })).not.toThrow(/hunter2/);
  });

  test('outbound URLs are closed by default; the lists are read entry by entry and a bad entry is named', () => {
    expect(loadConfig({}).outbound).toEqual({ allow: [], allowPrivate: [] });
    expect(
      loadConfig({
        OUTBOUND_ALLOW: ' router.example.com, *.lb.example.com:8443,',
        OUTBOUND_ALLOW_PRIVATE: '10.0.0.0/8,::1',
      }).outbound,
    ).toEqual({ allow: ['router.example.com', '*.lb.example.com:8443'], allowPrivate: ['10.0.0.0/8', '::1'] });
    expect(() => loadConfig({ OUTBOUND_ALLOW: 'https://router.example.com' })).toThrow(
      /OUTBOUND_ALLOW: expected a comma list of \*, host, host:port or \*\.domain, but "https:\/\/router.example.com" is not/,
    );
    expect(() => loadConfig({ OUTBOUND_ALLOW_PRIVATE: '10.0.0.0/40' })).toThrow(
      /OUTBOUND_ALLOW_PRIVATE: expected a comma list of addresses or CIDR ranges, but "10.0.0.0\/40" has a prefix length/,
    );
  });

  test('the CBB admin token is read when set, and absent otherwise', () => {
    expect(loadConfig({}).cbb.adminToken).toBeUndefined();
    expect(loadConfig({ CBB_ADMIN_TOKEN: 't0k' }).cbb.adminToken).toBe('t0k');
  });

  test('an API key turns TLS on for Temporal Cloud', () => {
    const config = loadConfig({ TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' });
    expect(config.temporal.tls).toBeDefined();
    expect(config.temporal.apiKey).toBe('k');
  });
});

describe('libvirt settings', () => {
  test("default to the local stack's libvirtd and the VM backend's pool numbers", () => {
    const { libvirt, vm } = loadConfig({});
    expect(libvirt.uri).toMatch(/^test\+unix:\/\/\/default\?socket=\/.*\/\.data\/libvirt\/libvirt-sock$/);
    expect(libvirt.domainType).toBe('test');
    expect(libvirt.pool).toEqual({ min: 2, max: 10, acquireTimeoutMs: 30_000, idleTimeoutMs: 60_000 });
    expect(vm).toEqual({ shutdownTimeoutMs: 60_000, reconcileEvery: '1m' });
  });

  test('a real hypervisor gets KVM domains unless told otherwise', () => {
    expect(loadConfig({ LIBVIRT_URI: 'qemu+ssh://host/system' }).libvirt.domainType).toBe('kvm');
    expect(loadConfig({ LIBVIRT_URI: 'qemu:///system', LIBVIRT_DOMAIN_TYPE: 'qemu' }).libvirt.domainType).toBe('qemu');
  });

  test('a pool whose minimum exceeds its maximum is refused with both numbers', () => {
    expect(() => loadConfig({ LIBVIRT_POOL_MIN: '5', LIBVIRT_POOL_MAX: '3' })).toThrow(
      /LIBVIRT_POOL_MIN: expected at most LIBVIRT_POOL_MAX \(3\), got 5/,
    );
  });
});
