import { randomUUID } from 'node:crypto';
import { createVmAdapter, type VmAdapter } from '../../activities/vm/adapter';
import { pinnedDomains } from '../../activities/vm/pinning';
import { createLibvirtPool, type LibvirtPool } from '../../activities/vm/pool';
import { createVirsh } from '../../activities/vm/virsh';
import { AppError } from '../../lib/errors';
import { buildDomainXml, type DomainSpec } from '../../activities/vm/domain-xml';
import { vmErrorCode } from '../../lib/vm/errors';
import { testLibvirtd, virsh } from '../helpers/libvirtd';

/**
 * The adapter against a real libvirtd (test driver), checked through virsh: every
 * state the adapter reports, virsh must report too.
 */

let lv: Awaited<ReturnType<typeof testLibvirtd>>;
let pool: LibvirtPool;
let adapter: VmAdapter;
const prefix = `it${process.pid}`;

const spec = (name: string, extra: Partial<DomainSpec> = {}): DomainSpec => ({
  name,
  uuid: randomUUID(),
  machineId: name,
  type: 'test',
  template: { vcpus: 1, memoryMiB: 256, os: { arch: 'x86_64' } },
  maxVcpus: 4,
  maxMemoryMiB: 512,
  ...extra,
});

const virshState = async (name: string) => (await virsh(lv.uri, 'domstate', name)).replace('shut off', 'shutoff');

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return vmErrorCode(err);
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  lv = await testLibvirtd();
  pool = createLibvirtPool({ uri: lv.uri, min: 2, max: 4 });
  adapter = createVmAdapter({ pool, virsh: createVirsh({ uri: lv.uri }) });
});

afterAll(async () => {
  const left = (await virsh(lv.uri, 'list', '--all', '--name')).split('\n').filter((n) => n.startsWith(prefix));
  for (const name of left) {
    await virsh(lv.uri, 'destroy', name).catch(() => undefined);
    await virsh(lv.uri, 'undefine', name, '--snapshots-metadata').catch(() => undefined);
  }
  await pool?.drain();
  await lv?.release();
});

describe('VM adapter on libvirtd, seen by virsh', () => {
  it('defines a domain virsh sees, with its text exactly as given', async () => {
    const name = `${prefix}-def`;
    const s = spec(name, { description: 'R&D </description><devices/> &lt;', metadata: { team: 'a"b' } });
    const ref = await adapter.define(buildDomainXml(s));
    expect(ref).toEqual({ name, uuid: s.uuid });
    expect(await virsh(lv.uri, 'domuuid', name)).toBe(s.uuid);
    expect(await virshState(name)).toBe('shutoff');
    expect(await virsh(lv.uri, 'desc', name)).toBe(s.description);
    const xml = await virsh(lv.uri, 'dumpxml', name);
    expect(xml.match(/<devices>/g)).toHaveLength(1);
    expect(xml).toContain('<orch:entry key="team">a"b</orch:entry>');
    // Defining the same name and UUID again is a no-op update: a retried define succeeds.
    expect(await adapter.define(buildDomainXml(s))).toEqual(ref);
    expect(await codeOf(adapter.define(buildDomainXml({ ...s, uuid: randomUUID() })))).toBe('RESOURCE_CONFLICT');
    await adapter.undefine(name);
    expect(await adapter.state(name)).toBe('absent');
  });

  it('walks a domain through every operation, each state as virsh reports it', async () => {
    const name = `${prefix}-ops`;
    await adapter.define(buildDomainXml(spec(name)));
    const expectBoth = async (state: string) => {
      expect(await adapter.state(name)).toBe(state);
      expect(await virshState(name)).toBe(state);
    };

    expect(await adapter.start(name)).toBe('running');
    await expectBoth('running');
    expect(await adapter.start(name)).toBe('running'); // a retried start

    await adapter.suspend(name);
    await expectBoth('paused');
    await adapter.suspend(name);
    await adapter.resume(name);
    await expectBoth('running');
    await adapter.resume(name);

    await adapter.reboot(name);
    await expectBoth('running');

    await adapter.createSnapshot(name, 'running-one', 'taken while running');
    await adapter.createSnapshot(name, 'running-one', 'taken while running'); // a retried snapshot
    await adapter.suspend(name);
    await adapter.createSnapshot(name, 'paused-one');
    await adapter.resume(name);
    expect((await adapter.listSnapshots(name)).sort()).toEqual(['paused-one', 'running-one']);
    expect((await virsh(lv.uri, 'snapshot-list', name, '--name')).split('\n').sort()).toEqual([
      'paused-one',
      'running-one',
    ]);

    expect(await adapter.revertSnapshot(name, 'paused-one')).toBe('paused');
    await expectBoth('paused');
    expect(await adapter.revertSnapshot(name, 'running-one')).toBe('running');
    await expectBoth('running');
    await adapter.deleteSnapshot(name, 'paused-one');
    await adapter.deleteSnapshot(name, 'paused-one');
    expect(await virsh(lv.uri, 'snapshot-list', name, '--name')).toBe('running-one');

    await adapter.setMemory(name, 384);
    await adapter.setVcpus(name, 3);
    const live = await adapter.info(name);
    expect(live).toMatchObject({ name, state: 'running', memoryMiB: 384, maxMemoryMiB: 512, vcpus: 3 });
    const dominfo = await virsh(lv.uri, 'dominfo', name);
    expect(dominfo).toMatch(/Used memory:\s+393216 KiB/);
    expect(dominfo).toMatch(/CPU\(s\):\s+3/);
    expect(await codeOf(adapter.setMemory(name, 1024))).toBe('RESOURCE_CONFLICT');

    expect(await adapter.shutdown(name, { timeoutMs: 10_000 })).toEqual({ forced: false });
    await expectBoth('shutoff');
    expect(await adapter.shutdown(name, { timeoutMs: 10_000 })).toEqual({ forced: false });
    expect(await adapter.stateReason(name)).toEqual({ state: 'shutoff', reason: 'shutdown' });

    // At rest a resize may pass the maxima set at define: they grow with it.
    await adapter.setMemory(name, 1024);
    await adapter.setVcpus(name, 6);
    expect(await adapter.info(name)).toMatchObject({ memoryMiB: 1024, maxMemoryMiB: 1024, vcpus: 6 });
    expect(await virsh(lv.uri, 'dominfo', name)).toMatch(/Max memory:\s+1048576 KiB/);

    await adapter.start(name);
    await adapter.destroy(name);
    await expectBoth('shutoff');
    expect(await adapter.stateReason(name)).toEqual({ state: 'shutoff', reason: 'destroyed' });
    await adapter.destroy(name); // a retried destroy

    await adapter.undefine(name); // has a snapshot left: its metadata goes with it
    expect(await adapter.state(name)).toBe('absent');
    await expect(virshState(name)).rejects.toThrow(/failed to get domain/);
    await adapter.undefine(name); // a retried undefine
    expect(pinnedDomains()).toBe(0);
  });

  it('refuses what does not fit the state, with the conflict code', async () => {
    const name = `${prefix}-refuse`;
    await adapter.define(buildDomainXml(spec(name)));
    expect(await codeOf(adapter.reboot(name))).toBe('RESOURCE_CONFLICT');
    await adapter.start(name);
    expect(await codeOf(adapter.undefine(name))).toBe('RESOURCE_CONFLICT');
    expect(await virshState(name)).toBe('running');
    await adapter.destroy(name);
    await adapter.undefine(name);
  });

  it('reports a missing domain as MACHINE_NOT_FOUND, through the binding and through virsh', async () => {
    const name = `${prefix}-missing`;
    const calls: [string, () => Promise<unknown>][] = [
      ['start', () => adapter.start(name)],
      ['info', () => adapter.info(name)],
      ['suspend', () => adapter.suspend(name)],
      ['shutdown', () => adapter.shutdown(name, { timeoutMs: 1_000 })],
      ['destroy', () => adapter.destroy(name)],
      ['snapshot', () => adapter.createSnapshot(name, 'x')],
      ['snapshots', () => adapter.listSnapshots(name)],
      ['revert', () => adapter.revertSnapshot(name, 'x')],
      ['memory', () => adapter.setMemory(name, 256)],
      ['vcpus', () => adapter.setVcpus(name, 2)],
      ['state reason', () => adapter.stateReason(name)],
    ];
    const codes = Object.fromEntries(await Promise.all(calls.map(async ([op, call]) => [op, await codeOf(call())])));
    expect(codes).toEqual(Object.fromEntries(calls.map(([op]) => [op, 'MACHINE_NOT_FOUND'])));
    // A reboot asks for the state first: absent is a conflict with what reboot needs.
    expect(await codeOf(adapter.reboot(name))).toBe('RESOURCE_CONFLICT');
    expect(await adapter.state(name)).toBe('absent');
  });

  it('lists exactly the domains and states virsh lists', async () => {
    const names = [`${prefix}-l1`, `${prefix}-l2`, `${prefix}-l3`];
    for (const n of names) await adapter.define(buildDomainXml(spec(n)));
    await adapter.start(names[1]);
    await adapter.start(names[2]);
    await adapter.suspend(names[2]);
    const ours = (await adapter.list()).map((d) => `${d.name}=${d.state}`).sort();
    const theirs: string[] = [];
    for (const n of (await virsh(lv.uri, 'list', '--all', '--name')).split('\n').filter(Boolean)) {
      theirs.push(`${n}=${await virshState(n)}`);
    }
    expect(ours).toEqual(theirs.sort());
    expect(ours).toEqual(expect.arrayContaining([`${names[0]}=shutoff`, `${names[1]}=running`, `${names[2]}=paused`]));
    for (const n of names) {
      await adapter.destroy(n);
      await adapter.undefine(n);
    }
  });
});
