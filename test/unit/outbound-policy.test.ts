import { checkAddresses, checkUrl, outboundPolicy, parseCidr, parseHostPattern } from '../../lib/infra/outbound/policy';
import { vetOutbound } from '../../lib/infra/outbound/vet';

/** The outbound rule alone: host patterns, address ranges and the spellings a URL can hide an address in. */

const open = outboundPolicy({ allow: ['*'], allowPrivate: [] });
const hostOf = (url: string) => {
  const c = checkUrl(open, url);
  return c.ok ? c.value.host : c.reason;
};
const resolveNothing = () => Promise.reject(new Error('no DNS in this test'));

describe('outbound policy', () => {
  it('reads every spelling of an address as the address it is', () => {
    expect(hostOf('http://127.1/')).toBe('127.0.0.1');
    expect(hostOf('http://2130706433/')).toBe('127.0.0.1');
    expect(hostOf('http://0x7f000001/')).toBe('127.0.0.1');
    expect(hostOf('http://0x7f.1/')).toBe('127.0.0.1');
    expect(hostOf('http://0177.0.0.1/')).toBe('127.0.0.1');
    expect(hostOf('http://127.0.0.1./')).toBe('127.0.0.1');
    expect(hostOf('http://[::ffff:127.0.0.1]/')).toBe('::ffff:7f00:1');
    expect(hostOf('http://LOCALHOST./')).toBe('localhost');
  });

  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://127.1:8080/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:10.0.0.1]/', 'private'],
    ['http://[::127.0.0.1]/', 'IPv4-compatible IPv6'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://10.1.2.3/', 'private'],
    ['http://172.16.0.1/', 'private'],
    ['http://172.31.255.255/', 'private'],
    ['http://192.168.1.10/', 'private'],
    ['http://[fd00::1]/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://100.64.0.1/', 'carrier-grade NAT'],
  ])('refuses %s as a %s address unless allowed', async (url, range) => {
    await expect(vetOutbound(open, url, resolveNothing)).rejects.toMatchObject({
      type: 'ValidationError',
      message: expect.stringContaining(`a ${range} address, which OUTBOUND_ALLOW_PRIVATE does not allow`),
    });
  });

  it('lets public addresses through, and private ones only inside an allowed range', async () => {
    await expect(vetOutbound(open, 'https://172.32.0.1/', resolveNothing)).resolves.toMatchObject({
      address: '172.32.0.1',
      port: 443,
    });
    const lab = outboundPolicy({ allow: ['*'], allowPrivate: ['10.20.0.0/16', '::1'] });
    await expect(vetOutbound(lab, 'http://10.20.3.4/', resolveNothing)).resolves.toMatchObject({
      address: '10.20.3.4',
    });
    await expect(vetOutbound(lab, 'http://[::1]/', resolveNothing)).resolves.toMatchObject({ address: '::1' });
    await expect(vetOutbound(lab, 'http://10.21.0.1/', resolveNothing)).rejects.toMatchObject({
      type: 'ValidationError',
    });
    await expect(vetOutbound(lab, 'http://127.0.0.1/', resolveNothing)).rejects.toMatchObject({
      type: 'ValidationError',
    });
  });

  it('refuses a name when any of its addresses is not public', async () => {
    const target = checkUrl(open, 'https://router.example.com/w');
    if (!target.ok) throw new Error(target.reason);
    const mixed = [
      { address: '93.184.216.34', family: 4 },
      { address: '::1', family: 6 },
    ];
    expect(checkAddresses(open, target.value, mixed)).toEqual({
      ok: false,
      reason:
        'host router.example.com resolves to ::1, a loopback address, which OUTBOUND_ALLOW_PRIVATE does not allow',
    });
    expect(checkAddresses(open, target.value, mixed.slice(0, 1))).toEqual({
      ok: true,
      value: { address: '93.184.216.34', family: 4 },
    });
    expect(checkAddresses(open, target.value, [])).toMatchObject({ ok: false });
  });

  it('matches hosts, ports and subdomains as listed, and marks which hosts are named', () => {
    const p = outboundPolicy({
      allow: ['router.example.com', '*.lb.example.com:8443', '10.0.0.5:80'],
      allowPrivate: [],
    });
    const host = (url: string) => checkUrl(p, url);
    expect(host('https://router.example.com:9999/')).toMatchObject({ ok: true, value: { named: true, port: 9999 } });
    expect(host('https://ROUTER.example.com./')).toMatchObject({ ok: true });
    expect(host('https://eu.lb.example.com:8443/')).toMatchObject({ ok: true });
    expect(host('https://eu.lb.example.com/')).toMatchObject({ ok: false });
    expect(host('https://lb.example.com:8443/')).toMatchObject({ ok: false });
    expect(host('https://evil-router.example.com/')).toMatchObject({ ok: false });
    expect(host('https://router.example.com.evil.net/')).toMatchObject({ ok: false });
    expect(host('http://10.0.0.5/')).toMatchObject({ ok: true, value: { literal: 4 } });
    expect(host('http://10.0.0.5:81/')).toMatchObject({ ok: false });
    expect(checkUrl(open, 'https://anything.example/')).toMatchObject({ ok: true, value: { named: false } });
  });

  it('is closed by default and refuses what is not plain http(s)', () => {
    const closed = outboundPolicy({ allow: [], allowPrivate: [] });
    expect(checkUrl(closed, 'https://router.example.com/')).toEqual({
      ok: false,
      reason: 'host router.example.com:443 is not in OUTBOUND_ALLOW (which is empty)',
    });
    expect(checkUrl(open, 'ftp://router.example.com/')).toMatchObject({ reason: 'must use http or https' });
    expect(checkUrl(open, 'file:///etc/passwd')).toMatchObject({ reason: 'must use http or https' });
    expect(checkUrl(open, 'https://user:pw@router.example.com/')).toMatchObject({
      reason: 'must not carry a user name or password',
    });
    expect(checkUrl(open, 'not a url')).toMatchObject({ reason: 'is not an absolute URL' });
  });

  it('says which setting entry is wrong', () => {
    expect(() => parseHostPattern('http://x.com')).toThrow('"http://x.com" is not a host, host:port or *.domain');
    expect(() => parseHostPattern('x.com:0')).toThrow('is not a host');
    expect(() => parseCidr('10.0.0.0/33')).toThrow('"10.0.0.0/33" has a prefix length outside 0..32');
    expect(() => parseCidr('localhost')).toThrow('is not an address or CIDR range');
    expect(parseCidr('[::1]')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(parseHostPattern('127.1:8080')).toEqual({ host: '127.0.0.1', kind: 'exact', port: 8080 });
  });

  it('resolves names and refuses one that resolves to loopback, or does not resolve', async () => {
    const resolveTo = (address: string) => () => Promise.resolve([{ address, family: address.includes(':') ? 6 : 4 }]);
    await expect(vetOutbound(open, 'http://localhost./', resolveTo('127.0.0.1'))).rejects.toMatchObject({
      message: 'host localhost resolves to 127.0.0.1, a loopback address, which OUTBOUND_ALLOW_PRIVATE does not allow',
    });
    const gone = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    await expect(vetOutbound(open, 'http://nowhere.example/', () => Promise.reject(gone))).rejects.toMatchObject({
      type: 'ValidationError',
      message: 'host nowhere.example does not resolve (ENOTFOUND)',
    });
    const later = Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
    await expect(vetOutbound(open, 'http://busy.example/', () => Promise.reject(later))).rejects.toMatchObject({
      type: 'Unavailable',
    });
  });
});
